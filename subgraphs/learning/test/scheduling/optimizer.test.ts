import { describe, expect, it } from 'vitest';
import { FSRSBinding } from '@open-spaced-repetition/binding';
import { FSRSAlgorithm, forgetting_curve } from 'ts-fsrs';
import {
  MIN_REVIEWS_FOR_OPTIMIZATION,
  calibrationBin,
  countReviews,
  evaluate,
  evaluateSm2,
  fsrsPredictions,
  optimizeParameters,
  splitHeldOut,
  toBindingItems,
  type CardHistory,
} from '../../src/domain/scheduling/optimizer.js';
import { DEFAULT_PARAMS, createScheduler } from '../../src/domain/scheduling/scheduler.js';
import { inMemoryReviewPath, simulateLearner } from '../../src/domain/scheduling/simulator.js';

const at = (iso: string) => new Date(iso);

describe('toBindingItems', () => {
  it('makes one item per review after the first, with review-day gaps and ratings 1..4', () => {
    const history: CardHistory = {
      cardId: 'c1',
      reviews: [
        { rating: 'GOOD', reviewedAt: at('2026-03-03T10:00:00Z') }, // listed out of order on purpose
        { rating: 'AGAIN', reviewedAt: at('2026-03-01T10:00:00Z') },
        { rating: 'GOOD', reviewedAt: at('2026-03-01T10:10:00Z') },
      ],
    };
    const items = toBindingItems([history]);
    // The item [AGAIN, GOOD same day] has no later-day review: fsrs-rs would abort on it, so only one item.
    expect(items).toHaveLength(1);
    expect(items[0]!.reviews.map((r) => [r.rating, r.deltaT])).toEqual([
      [1, 0],
      [3, 0],
      [3, 2],
    ]);
  });

  it('counts days from the 04:00 UTC day start: 23:00 and 03:00 the next morning are one review day', () => {
    const items = toBindingItems([
      {
        cardId: 'c',
        reviews: [
          { rating: 'GOOD', reviewedAt: at('2026-03-01T23:00:00Z') },
          { rating: 'GOOD', reviewedAt: at('2026-03-02T03:00:00Z') },
          { rating: 'GOOD', reviewedAt: at('2026-03-02T05:00:00Z') },
        ],
      },
    ]);
    expect(items[0]!.reviews.map((r) => r.deltaT)).toEqual([0, 0, 1]);
  });

  it('ends items only on later-day reviews, as fsrs-rs’ own converter does, so fsrs-rs accepts them', () => {
    const history: CardHistory = {
      cardId: 'lapse',
      reviews: [
        { rating: 'GOOD', reviewedAt: at('2026-03-01T10:00:00Z') },
        { rating: 'AGAIN', reviewedAt: at('2026-03-04T10:00:00Z') },
        { rating: 'GOOD', reviewedAt: at('2026-03-04T10:10:00Z') }, // the relearning step, same day
        { rating: 'GOOD', reviewedAt: at('2026-03-06T10:00:00Z') },
      ],
    };
    const items = toBindingItems([history]);
    expect(items.map((item) => item.reviews.map((r) => [r.rating, r.deltaT]))).toEqual([
      [
        [3, 0],
        [1, 3],
      ],
      [
        [3, 0],
        [1, 3],
        [3, 0],
        [3, 2],
      ],
    ]);
  });

  it('gives fsrs-rs a set it accepts: it refuses one holding an item that ends on a same-day review', async () => {
    const { histories } = await simulateLearner({
      seed: 'items',
      cards: 60,
      days: 20,
      newPerDay: 6,
      start: at('2026-01-05T10:00:00Z'),
      path: inMemoryReviewPath(createScheduler()),
    });
    const items = toBindingItems(histories);
    expect(items.length).toBeGreaterThan(100);
    expect(items.every((item) => item.current!.deltaT > 0)).toBe(true);
    // One item per scored review: the same reviews the replay predicts.
    expect(items).toHaveLength(fsrsPredictions(DEFAULT_PARAMS, histories).length);
    const scored = new FSRSBinding([...DEFAULT_PARAMS]).evaluate(items);
    expect(scored.logLoss).toBeGreaterThan(0);
    expect(scored.logLoss).toBeLessThan(1);
  });
});

describe('splitHeldOut', () => {
  it('holds out the last 20% of the learner’s reviews by time, keeping full histories for the replay', () => {
    const day = (d: number) => new Date(Date.UTC(2026, 0, d, 10));
    const histories: CardHistory[] = [
      { cardId: 'a', reviews: [1, 3, 7, 15].map((d) => ({ rating: 'GOOD' as const, reviewedAt: day(d) })) },
      { cardId: 'b', reviews: [2, 4, 9, 20, 25, 30].map((d) => ({ rating: 'GOOD' as const, reviewedAt: day(d) })) },
    ];
    const { train, heldOut, cutoff } = splitHeldOut(histories);
    // 10 reviews: the last 2 (days 25 and 30) are held out.
    expect(cutoff).toEqual(day(25));
    expect(countReviews(train)).toBe(8);
    expect(heldOut.map((h) => h.cardId)).toEqual(['b']);
    expect(heldOut[0]!.reviews).toHaveLength(6);
    expect(fsrsPredictions(DEFAULT_PARAMS, heldOut)).toHaveLength(2);
  });
});

describe('evaluate', () => {
  it('replays FSRS by hand: predictions are R(t, S) of the state before each later-day review', () => {
    const history: CardHistory = {
      cardId: 'c',
      reviews: [
        { rating: 'GOOD', reviewedAt: at('2026-03-01T10:00:00Z') },
        { rating: 'GOOD', reviewedAt: at('2026-03-04T10:00:00Z') },
        { rating: 'AGAIN', reviewedAt: at('2026-03-14T10:00:00Z') },
      ],
    };
    const model = new FSRSAlgorithm({ w: [...DEFAULT_PARAMS], enable_short_term: true });
    const s1 = model.next_state(null, 0, 3);
    const p1 = forgetting_curve(DEFAULT_PARAMS, 3, s1.stability);
    const s2 = model.next_state(s1, 3, 3);
    const p2 = forgetting_curve(DEFAULT_PARAMS, 10, s2.stability);
    // Bins: 3 days (< 3.62), 2 reviews (1.89..3.57), no lapse; then 10 days (3.62..13.1), 3 reviews.
    expect(fsrsPredictions(DEFAULT_PARAMS, [history])).toEqual([
      { p: p1, y: 1, bin: '0/1/none' },
      { p: p2, y: 0, bin: '1/1/none' },
    ]);
    const result = evaluate(DEFAULT_PARAMS, [history]);
    expect(result.logLoss).toBeCloseTo((-Math.log(p1) - Math.log(1 - p2)) / 2, 12);
    // Each review is alone in its bin, so RMSE(bins) is the root mean square error of the two.
    expect(result.rmseBins).toBeCloseTo(Math.sqrt(((1 - p1) ** 2 + p2 ** 2) / 2), 12);
    expect(result.count).toBe(2);
  });

  it('bins reviews as the srs-benchmark does: interval, review count and lapses on geometric scales', () => {
    expect(calibrationBin(1, 2, 0)).toBe('0/1/none');
    expect(calibrationBin(3, 2, 0)).toBe(calibrationBin(1, 3, 0)); // 1..3.61 days; 1.89..3.57 reviews
    expect(calibrationBin(4, 2, 0)).toBe('1/1/none'); // 3.62..13.1 days
    expect(calibrationBin(14, 4, 1)).toBe('2/2/0');
    expect(calibrationBin(14, 4, 2)).toBe('2/2/1'); // 1.73..2.99 lapses
    const history: CardHistory = {
      cardId: 'c',
      reviews: [
        { rating: 'GOOD', reviewedAt: at('2026-03-01T10:00:00Z') },
        { rating: 'GOOD', reviewedAt: at('2026-03-04T10:00:00Z') },
        { rating: 'AGAIN', reviewedAt: at('2026-03-14T10:00:00Z') },
        { rating: 'GOOD', reviewedAt: at('2026-03-14T10:10:00Z') }, // same day: not scored, not counted
        { rating: 'GOOD', reviewedAt: at('2026-03-16T10:00:00Z') },
      ],
    };
    expect(fsrsPredictions(DEFAULT_PARAMS, [history]).map((x) => x.bin)).toEqual(['0/1/none', '1/1/none', '0/2/0']);
  });

  it('agrees with the retrievability the scheduler reported at each review', async () => {
    const path = inMemoryReviewPath(createScheduler());
    const { reviews, histories } = await simulateLearner({
      seed: 'agree',
      cards: 40,
      days: 20,
      newPerDay: 5,
      start: at('2026-01-05T10:00:00Z'),
      path,
    });
    const predicted = fsrsPredictions(DEFAULT_PARAMS, histories).map((x) => x.p);
    // The same reviews, in the same order (per card, later-day reviews only), as the path reported them.
    const reported: number[] = [];
    const seen = new Map<string, Date>();
    for (const cardId of histories.map((h) => h.cardId)) {
      for (const r of reviews.filter((x) => x.cardId === cardId)) {
        const last = seen.get(cardId);
        if (
          last &&
          Math.floor((r.reviewedAt.getTime() - 4 * 3.6e6) / 864e5) > Math.floor((last.getTime() - 4 * 3.6e6) / 864e5)
        ) {
          reported.push(r.predictedRecall!);
        }
        seen.set(cardId, r.reviewedAt);
      }
    }
    expect(predicted.length).toBeGreaterThan(50);
    expect(predicted).toHaveLength(reported.length);
    predicted.forEach((p, i) => expect(p).toBeCloseTo(reported[i]!, 6));
  });
});

describe('optimizeParameters', () => {
  it('refuses a learner under the review threshold (400)', async () => {
    expect(MIN_REVIEWS_FOR_OPTIMIZATION).toBe(400);
    const few: CardHistory[] = [{ cardId: 'c', reviews: [{ rating: 'GOOD', reviewedAt: at('2026-03-01T10:00:00Z') }] }];
    await expect(optimizeParameters(few)).rejects.toThrow(/at least 400 reviews; this learner has 1/);
  });

  it('beats the default parameters on held-out log loss for simulated learners with over 1000 reviews', async () => {
    const results = [];
    for (const seed of ['opt-1', 'opt-2', 'opt-3', 'opt-4', 'opt-5']) {
      const path = inMemoryReviewPath(createScheduler());
      const sim = await simulateLearner({
        seed,
        cards: 300,
        days: 45,
        newPerDay: 10,
        start: at('2026-01-05T10:00:00Z'),
        path,
      });
      expect(sim.reviews.length).toBeGreaterThanOrEqual(1000);
      const { train, heldOut } = splitHeldOut(sim.histories);
      const params = await optimizeParameters(train);
      expect(params).toHaveLength(21);
      const optimised = evaluate(params, heldOut);
      const defaults = evaluate(DEFAULT_PARAMS, heldOut);
      const sm2 = evaluateSm2(heldOut);
      results.push({
        seed,
        reviews: sim.reviews.length,
        optimised: optimised.logLoss!,
        defaults: defaults.logLoss!,
        sm2: sm2.logLoss!,
      });
    }
    console.info(
      results
        .map(
          (r) =>
            `${r.seed} (${r.reviews} reviews): optimised ${r.optimised.toFixed(4)}, default ${r.defaults.toFixed(4)}, SM-2 ${r.sm2.toFixed(4)}`,
        )
        .join('\n'),
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(results.map((r) => r.optimised))).toBeLessThan(mean(results.map((r) => r.defaults)));
    expect(results.filter((r) => r.optimised < r.defaults).length).toBeGreaterThanOrEqual(4);
    for (const r of results) expect(r.defaults).toBeLessThan(r.sm2);
  }, 60_000);
});
