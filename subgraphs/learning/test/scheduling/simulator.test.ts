import { describe, expect, it } from 'vitest';
import { FSRSAlgorithm, default_w } from 'ts-fsrs';
import { createScheduler } from '../../src/domain/scheduling/scheduler.js';
import { dayNumber } from '../../src/domain/scheduling/load-balance.js';
import {
  MIN_INITIAL_STABILITY,
  inMemoryReviewPath,
  simulateLearner,
  successRatingProbs,
  trueParameters,
} from '../../src/domain/scheduling/simulator.js';

const start = new Date('2026-01-05T10:00:00Z');

describe('simulator', () => {
  it('is reproducible: the same seed gives the same reviews; another seed does not', async () => {
    const run = (seed: string) =>
      simulateLearner({ seed, cards: 60, days: 15, newPerDay: 10, start, path: inMemoryReviewPath(createScheduler()) });
    const [a, b, c] = await Promise.all([run('s'), run('s'), run('t')]);
    expect(a.reviews).toEqual(b.reviews);
    expect(a.reviews.map((r) => r.rating)).not.toEqual(c.reviews.map((r) => r.rating));
  });

  it('gives each learner true parameters away from the defaults, within FSRS-6 ranges', () => {
    const w = trueParameters('learner-1');
    expect(w).toHaveLength(21);
    expect(w).toEqual(trueParameters('learner-1'));
    expect(w).not.toEqual(trueParameters('learner-2'));
    expect(w.slice(0, 4)).toEqual([...w.slice(0, 4)].sort((x, y) => x - y));
    const changed = [0, 1, 2, 3, 4, 8, 11, 20].filter((i) => w[i] !== default_w[i]);
    expect(changed.length).toBeGreaterThanOrEqual(6);
    expect(w[20]).toBeGreaterThanOrEqual(0.1);
    expect(w[20]).toBeLessThanOrEqual(0.8);
  });

  it('reports initial stabilities as the ground truth uses them: at least 0.1 day (ts-fsrs’ floor)', () => {
    const draws = Array.from({ length: 40 }, (_, i) => trueParameters(`floor-${i}`));
    for (const w of draws) for (const s of w.slice(0, 4)) expect(s).toBeGreaterThanOrEqual(MIN_INITIAL_STABILITY);
    // The spread draws some below 0.1 (w0 default 0.21, σ = 1.5 in log units): the floor is met.
    expect(draws.filter((w) => w[0] === MIN_INITIAL_STABILITY).length).toBeGreaterThan(0);
    // And it is what the truth does: ts-fsrs starts an Again card at 0.1 day whatever w0 below it says.
    const w = draws.find((x) => x[0] === MIN_INITIAL_STABILITY)!;
    const below = [0.02, ...w.slice(1)];
    expect(new FSRSAlgorithm({ w: below }).next_state(null, 0, 1).stability).toBe(MIN_INITIAL_STABILITY);
  });

  it('rates successes Hard more often when recall was harder, Easy more often when easier', () => {
    const hard = successRatingProbs(0.6);
    const easy = successRatingProbs(0.97);
    expect(hard.hard).toBeGreaterThan(easy.hard);
    expect(hard.easy).toBeLessThan(easy.easy);
    for (const p of [hard, easy]) expect(p.hard + p.good + p.easy).toBeCloseTo(1, 12);
  });

  it('honours the daily new limit, records truth and prediction, and misses about as often as the truth says', async () => {
    const path = inMemoryReviewPath(createScheduler());
    const { reviews, histories } = await simulateLearner({
      seed: 'limits',
      cards: 300,
      days: 30,
      newPerDay: 7,
      start,
      path,
    });
    const newPerDay = new Map<number, number>();
    for (const r of reviews.filter((x) => x.stateBefore === 'NEW')) {
      const day = dayNumber(r.reviewedAt);
      newPerDay.set(day, (newPerDay.get(day) ?? 0) + 1);
    }
    expect(Math.max(...newPerDay.values())).toBe(7);
    expect(histories).toHaveLength(7 * 30);
    const firsts = reviews.filter((r) => r.stateBefore === 'NEW');
    expect(firsts.every((r) => r.trueRecall === null && r.predictedRecall === null)).toBe(true);
    const later = reviews.filter((r) => r.stateBefore === 'REVIEW');
    expect(later.every((r) => r.trueRecall !== null && r.predictedRecall !== null)).toBe(true);
    // Observed misses vs. the truth's expectation: within 4 standard deviations (a binomial sum).
    const expected = later.reduce((s, r) => s + (1 - r.trueRecall!), 0);
    const variance = later.reduce((s, r) => s + r.trueRecall! * (1 - r.trueRecall!), 0);
    const misses = later.filter((r) => r.rating === 'AGAIN').length;
    expect(Math.abs(misses - expected)).toBeLessThan(4 * Math.sqrt(variance));
  });

  it('caps review cards per day at the review limit', async () => {
    const path = inMemoryReviewPath(createScheduler());
    const { reviews } = await simulateLearner({
      seed: 'cap',
      cards: 300,
      days: 25,
      newPerDay: 30,
      reviewsPerDay: 40,
      start,
      path,
    });
    const perDay = new Map<number, number>();
    for (const r of reviews.filter((x) => x.stateBefore === 'REVIEW')) {
      const day = dayNumber(r.reviewedAt);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    expect(Math.max(...perDay.values())).toBe(40); // reached, never passed
  });

  it('refuses a deck without cards', async () => {
    await expect(
      simulateLearner({ seed: 'x', cards: 0, days: 3, start, path: inMemoryReviewPath(createScheduler()) }),
    ).rejects.toThrow(/cards is 0/);
  });
});
