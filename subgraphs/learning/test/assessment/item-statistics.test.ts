/** Item difficulty and point-biserial discrimination, and quiz score distributions, against values worked out by hand. */
import { describe, expect, it } from 'vitest';
import { itemStatistics, scoreDistribution, type ScoredResponse } from '../../src/domain/assessment/item-statistics.js';
import { refusal } from './fixtures.js';

/** Rows from { attempt: { item: score } }. */
const rows = (data: Record<string, Record<string, number>>): ScoredResponse[] =>
  Object.entries(data).flatMap(([attemptId, items]) =>
    Object.entries(items).map(([itemId, score]) => ({ attemptId, itemId, score })),
  );

/**
 * The point-biserial coefficient from its textbook formula, r = (M1 − M0) / s · √(p·q): M1 and M0
 * the mean rest scores of those right and not right, s the population standard deviation of all
 * rest scores, p the share right, q = 1 − p. (The module computes a Pearson correlation instead.)
 */
function pointBiserial(samples: { correct: boolean; rest: number }[]): number {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rests = samples.map((s) => s.rest);
  const m1 = mean(samples.filter((s) => s.correct).map((s) => s.rest));
  const m0 = mean(samples.filter((s) => !s.correct).map((s) => s.rest));
  const all = mean(rests);
  const sd = Math.sqrt(mean(rests.map((r) => (r - all) ** 2)));
  const p = samples.filter((s) => s.correct).length / samples.length;
  return ((m1 - m0) / sd) * Math.sqrt(p * (1 - p));
}

describe('itemStatistics', () => {
  // Totals: a1 3, a2 2, a3 1.5, a4 0, a5 2.
  const data = rows({
    a1: { q1: 1, q2: 1, q3: 1 },
    a2: { q1: 1, q2: 0, q3: 1 },
    a3: { q1: 0, q2: 0.5, q3: 1 },
    a4: { q1: 0, q2: 0, q3: 0 },
    a5: { q1: 1, q2: 1, q4: 0 },
  });
  const stats = itemStatistics(data);

  it('counts attempts and the share fully correct (a half score is not correct)', () => {
    expect(stats.get('q1')).toMatchObject({ attempts: 5, difficulty: 3 / 5 });
    expect(stats.get('q2')).toMatchObject({ attempts: 5, difficulty: 2 / 5 });
    expect(stats.get('q3')).toMatchObject({ attempts: 4, difficulty: 3 / 4 });
    expect(stats.get('q4')).toEqual({ attempts: 1, difficulty: 0, discrimination: null });
  });

  it('correlates correctness with the rest score (total minus the item)', () => {
    // q1: right in a1, a2, a5 with rests 2, 1, 1; not right in a3, a4 with rests 1.5, 0.
    // M1 = 4/3, M0 = 0.75, rests' mean 1.1, population variance 2.2 / 5 = 0.44, p = 0.6.
    const q1 = ((4 / 3 - 0.75) / Math.sqrt(0.44)) * Math.sqrt(0.6 * 0.4);
    expect(q1).toBeCloseTo(0.43082, 5);
    expect(stats.get('q1')?.discrimination).toBeCloseTo(q1, 12);
    expect(stats.get('q2')?.discrimination).toBeCloseTo(
      pointBiserial([
        { correct: true, rest: 2 },
        { correct: false, rest: 2 },
        { correct: false, rest: 1 },
        { correct: false, rest: 0 },
        { correct: true, rest: 1 },
      ]),
      12,
    );
    expect(stats.get('q3')?.discrimination).toBeCloseTo(
      pointBiserial([
        { correct: true, rest: 2 },
        { correct: true, rest: 1 },
        { correct: true, rest: 0.5 },
        { correct: false, rest: 0 },
      ]),
      12,
    );
  });

  it('is negative for an item the stronger attempts miss', () => {
    const s = itemStatistics(
      rows({ a: { trick: 0, x: 1, y: 1 }, b: { trick: 0, x: 1, y: 0 }, c: { trick: 1, x: 0, y: 0 } }),
    );
    expect(s.get('trick')?.discrimination).toBeLessThan(0);
    expect(s.get('trick')?.discrimination).toBeCloseTo(
      pointBiserial([
        { correct: false, rest: 2 },
        { correct: false, rest: 1 },
        { correct: true, rest: 0 },
      ]),
      12,
    );
  });

  it('has no discrimination when undefined: everyone right, or equal rest scores', () => {
    const allRight = itemStatistics(rows({ a: { easy: 1, x: 1 }, b: { easy: 1, x: 0 } }));
    expect(allRight.get('easy')).toEqual({ attempts: 2, difficulty: 1, discrimination: null });
    // Rest scores (1 + 0.6) − 1 and 0.1 + 0.5: both 0.6, though not as floats.
    expect(1 + 0.6 - 1).not.toBe(0.1 + 0.5);
    const flat = itemStatistics(rows({ a: { q: 1, x: 0.6 }, b: { q: 0, x: 0.1, y: 0.5 } }));
    expect(flat.get('q')?.discrimination).toBeNull();
  });

  it('counts a repeated (attempt, item) row once, the later one winning', () => {
    const s = itemStatistics([
      { attemptId: 'a', itemId: 'q', score: 0 },
      { attemptId: 'a', itemId: 'q', score: 1 },
    ]);
    expect(s.get('q')).toEqual({ attempts: 1, difficulty: 1, discrimination: null });
  });
});

describe('scoreDistribution', () => {
  it('gives count, mean, median, population standard deviation and ten buckets, 100 in the last', () => {
    const scores = [0, 9.99, 10, 55, 55, 72.5, 100, 90];
    const mean = 392.49 / 8;
    const stdDev = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / 8);
    const d = scoreDistribution(scores);
    expect(d.count).toBe(8);
    expect(d.mean).toBeCloseTo(mean, 12);
    expect(d.median).toBe(55);
    expect(d.stdDev).toBeCloseTo(stdDev, 12);
    expect(d.buckets.map((b) => [b.from, b.to, b.count])).toEqual([
      [0, 10, 2],
      [10, 20, 1],
      [20, 30, 0],
      [30, 40, 0],
      [40, 50, 0],
      [50, 60, 2],
      [60, 70, 0],
      [70, 80, 1],
      [80, 90, 0],
      [90, 100, 2],
    ]);
  });

  it('takes the middle score of an odd count as the median', () => {
    expect(scoreDistribution([70, 10, 40]).median).toBe(40);
    expect(scoreDistribution([50]).stdDev).toBe(0);
  });

  it('is empty without scores', () => {
    const d = scoreDistribution([]);
    expect(d).toMatchObject({ count: 0, mean: null, median: null, stdDev: null });
    expect(d.buckets.every((b) => b.count === 0)).toBe(true);
  });

  it('refuses scores outside 0..100, naming the score', () => {
    expect(refusal(() => scoreDistribution([50, 100.5]), 'scores[1]')).toMatch(/0 to 100/);
    refusal(() => scoreDistribution([-1]), 'scores[0]');
    refusal(() => scoreDistribution([Number.NaN]), 'scores[0]');
  });
});
