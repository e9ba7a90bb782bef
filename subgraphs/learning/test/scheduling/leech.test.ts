import { describe, expect, it } from 'vitest';
import { LEECH_THRESHOLD_DEFAULT, isLeech, leechOnReview } from '../../src/domain/scheduling/leech.js';

describe('leeches', () => {
  it('tags and suspends at 8 lapses, then at 12 and 16, and not in between', () => {
    expect(LEECH_THRESHOLD_DEFAULT).toBe(8);
    const flagged = [];
    for (let lapses = 1; lapses <= 17; lapses++) if (leechOnReview(lapses - 1, lapses)) flagged.push(lapses);
    expect(flagged).toEqual([8, 12, 16]);
  });

  it('does not flag a review that adds no lapse', () => {
    expect(leechOnReview(8, 8)).toBe(false);
  });

  it('follows a custom threshold (5: 5, 7, 9 as half of 5 rounds down to 2)', () => {
    const flagged = [];
    for (let lapses = 1; lapses <= 10; lapses++) if (leechOnReview(lapses - 1, lapses, 5)) flagged.push(lapses);
    expect(flagged).toEqual([5, 7, 9]);
  });

  it('calls a card with at least the threshold of lapses a leech', () => {
    expect(isLeech(7)).toBe(false);
    expect(isLeech(8)).toBe(true);
    expect(isLeech(3, 3)).toBe(true);
  });

  it('refuses lapses that go down and a threshold below 1', () => {
    expect(() => leechOnReview(5, 4)).toThrow(/never go down/);
    expect(() => isLeech(3, 0)).toThrowError(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'threshold' } }),
    );
  });
});
