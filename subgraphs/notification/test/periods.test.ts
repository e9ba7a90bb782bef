import { describe, expect, it } from 'vitest';
import { describePeriod, periodOf } from '../src/domain/periods.js';
import { formatMoney, render } from '../src/domain/templates.js';

describe('digest periods (UTC)', () => {
  it('days and ISO weeks, including weeks that straddle a new year', () => {
    expect(periodOf('DAILY_DIGEST', new Date('2026-11-26T23:59:59.999Z'))).toBe('2026-11-26');
    expect(periodOf('DAILY_DIGEST', new Date('2026-11-27T00:00:00.000Z'))).toBe('2026-11-27');
    expect(periodOf('WEEKLY_DIGEST', new Date('2026-11-23T00:00:00.000Z'))).toBe('2026-W48'); // Monday
    expect(periodOf('WEEKLY_DIGEST', new Date('2026-11-29T23:59:59.000Z'))).toBe('2026-W48'); // Sunday
    expect(periodOf('WEEKLY_DIGEST', new Date('2026-11-30T00:00:00.000Z'))).toBe('2026-W49');
    expect(periodOf('WEEKLY_DIGEST', new Date('2027-01-01T12:00:00.000Z'))).toBe('2026-W53');
    expect(periodOf('WEEKLY_DIGEST', new Date('2024-12-30T12:00:00.000Z'))).toBe('2025-W01');
    expect(describePeriod('WEEKLY_DIGEST', '2026-W48')).toBe('in week 48 of 2026');
  });
});

describe('templates', () => {
  it('formats money in minor units per currency', () => {
    expect(formatMoney({ amountMinor: 4900n, currency: 'USD' })).toBe('$49.00');
    expect(formatMoney({ amountMinor: 4900n, currency: 'JPY' })).toBe('¥4,900');
    expect(formatMoney({ amountMinor: 5n, currency: 'NOT-A-CODE' })).toBe('5 NOT-A-CODE (minor units)');
  });

  it('escapes what users wrote in the HTML part, and keeps the text part as written', () => {
    const out = render(
      { type: 'COURSE_UPDATED', data: { courseTitle: '<script>x</script> & co', version: 2 } },
      "O'Brien",
    );
    expect(out.title).toBe('<script>x</script> & co was updated');
    expect(out.text).toContain("Hello O'Brien,");
    expect(out.html).toContain('&lt;script&gt;x&lt;/script&gt; &amp; co');
    expect(out.html).not.toContain('<script>');
  });
});
