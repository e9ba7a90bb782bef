import { describe, expect, it } from 'vitest';
import { CLOCK_HEADER, requestNow } from '../src/clock.js';

const request = (value?: string) =>
  new Request('http://learning.test/graphql', { headers: value === undefined ? {} : { [CLOCK_HEADER]: value } });

describe('the request clock', () => {
  it('is the header’s instant when the header is honoured', () => {
    expect(requestNow(request('2031-03-03T09:00:00Z'), true).toISOString()).toBe('2031-03-03T09:00:00.000Z');
  });

  it('is the wall clock when the header is off, whatever the caller sends', () => {
    const before = Date.now();
    const now = requestNow(request('2031-03-03T09:00:00Z'), false).getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThan(Date.parse('2031-01-01T00:00:00Z'));
  });

  it('refuses a malformed instant with BAD_USER_INPUT', () => {
    for (const bad of ['yesterday', '2031-02-30T00:00:00Z', '2031-03-03T09:00:00', '1700000000'])
      expect(() => requestNow(request(bad), true)).toThrow(
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }),
      );
  });
});
