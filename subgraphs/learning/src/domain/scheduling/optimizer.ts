/**
 * Per-learner FSRS parameters: review histories in the shape the fsrs-rs optimizer
 * (`@open-spaced-repetition/binding`) wants, the optimisation itself, a time-based held-out split,
 * and calibration on held-out reviews by replaying each card's memory state.
 */
import { FSRSBindingItem, FSRSBindingReview, computeParameters } from '@open-spaced-repetition/binding';
import { FSRSAlgorithm, forgetting_curve } from 'ts-fsrs';
import { badInput } from '@coursegraph/service-kit';
import { auc, logLoss, rmseBins, type Prediction } from '../metrics.js';
import { DAY_START_HOUR_UTC_DEFAULT, dayNumber } from './load-balance.js';
import { gradeOf, type Rating } from './scheduler.js';
import { SM2_NEW, sm2RecallProbability, sm2Review, type Sm2State } from './sm2.js';

/**
 * Reviews a learner needs before their parameters are optimised: 400. The issue judges per-learner
 * optimisation on learners with at least 400 reviews (share_beats_default), so this is the point
 * from which it is expected to beat the defaults; the srs-benchmark's users start around there too.
 * Below it, the defaults (fitted on ~10k collections) are the safer prior.
 */
export const MIN_REVIEWS_FOR_OPTIMIZATION = 400;

/** One review in a card's history. */
export interface HistoryReview {
  rating: Rating;
  reviewedAt: Date;
}

/** A card's reviews, oldest first (sorted on use). `evaluateFrom`: only reviews at or after it are scored by {@link evaluate}. */
export interface CardHistory {
  cardId: string;
  reviews: HistoryReview[];
  evaluateFrom?: Date;
}

/** What a calibration measures; the metrics are null when nothing was scored. */
export interface Calibration {
  logLoss: number | null;
  rmseBins: number | null;
  auc: number | null;
  /** Reviews scored. */
  count: number;
}

function sortedReviews(history: CardHistory): HistoryReview[] {
  for (const review of history.reviews) {
    gradeOf(review.rating);
    if (!(review.reviewedAt instanceof Date) || Number.isNaN(review.reviewedAt.getTime())) {
      throw badInput(`Card ${history.cardId} has a review without a valid time.`, 'reviewedAt');
    }
  }
  return [...history.reviews].sort((a, b) => a.reviewedAt.getTime() - b.reviewedAt.getTime());
}

/** Review-day gaps between consecutive reviews (the first is 0), as fsrs-rs wants them. */
function deltas(reviews: readonly HistoryReview[], dayStartHourUtc: number): number[] {
  return reviews.map((r, i) =>
    i === 0 ? 0 : dayNumber(r.reviewedAt, dayStartHourUtc) - dayNumber(reviews[i - 1]!.reviewedAt, dayStartHourUtc),
  );
}

/**
 * fsrs-rs training items: for each card and each review after its first, one item holding the
 * card's reviews up to and including it (ratings 1..4, delta_t in review days, the first 0). The
 * optimizer predicts each item's last review from the ones before it. Items with every review on
 * the first day are left out (fsrs-rs needs one review with delta_t > 0 per item).
 */
export function toBindingItems(
  histories: readonly CardHistory[],
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): FSRSBindingItem[] {
  const items: FSRSBindingItem[] = [];
  for (const history of histories) {
    const reviews = sortedReviews(history);
    const gaps = deltas(reviews, dayStartHourUtc);
    const binding = reviews.map((r, i) => new FSRSBindingReview(gradeOf(r.rating), gaps[i]!));
    // fsrs-rs aborts the whole process (a panic it cannot unwind) on an item with no review on a
    // later day (delta_t > 0), so items start at the card's first review on a later day.
    const firstLongTerm = gaps.findIndex((gap) => gap > 0);
    if (firstLongTerm < 0) continue;
    for (let k = Math.max(2, firstLongTerm + 1); k <= binding.length; k++)
      items.push(new FSRSBindingItem(binding.slice(0, k)));
  }
  return items;
}

/** Number of reviews in `histories`. */
export function countReviews(histories: readonly CardHistory[]): number {
  return histories.reduce((n, h) => n + h.reviews.length, 0);
}

/**
 * Fits FSRS-6 parameters (21 numbers) to a learner's histories with fsrs-rs. The binding's
 * `computeParameters` returns a promise and trains on a native worker thread, so the event loop is
 * free meanwhile, but training still costs seconds of CPU per tens of thousands of reviews: run it
 * from the background job, never on the request path. Refuses fewer than `minReviews` reviews
 * (default {@link MIN_REVIEWS_FOR_OPTIMIZATION}).
 */
export async function optimizeParameters(
  histories: readonly CardHistory[],
  options: { dayStartHourUtc?: number; relearningSteps?: number; minReviews?: number } = {},
): Promise<number[]> {
  const minReviews = options.minReviews ?? MIN_REVIEWS_FOR_OPTIMIZATION;
  const total = countReviews(histories);
  if (total < minReviews) {
    throw badInput(`Optimising needs at least ${minReviews} reviews; this learner has ${total}.`, 'histories');
  }
  const items = toBindingItems(histories, options.dayStartHourUtc ?? DAY_START_HOUR_UTC_DEFAULT);
  if (items.length === 0)
    throw badInput('Optimising needs reviews on more than one day per card; there are none.', 'histories');
  const params = await computeParameters(items, {
    enableShortTerm: true,
    numRelearningSteps: options.relearningSteps ?? 1,
  });
  if (params.length !== 21 || params.some((w) => !Number.isFinite(w))) {
    throw new Error(`fsrs-rs returned ${params.length} parameters; FSRS-6 has 21.`);
  }
  return params;
}

/**
 * Splits one learner's histories by time: the last `fraction` (default 0.2) of their reviews, by
 * date, are held out. `train` keeps only the earlier reviews (cards left without any are dropped);
 * `heldOut` keeps the full histories (the replay needs the past) with `evaluateFrom` at the cut,
 * so {@link evaluate} scores only the held-out reviews. `cutoff` is null when there are no reviews.
 */
export function splitHeldOut(
  histories: readonly CardHistory[],
  fraction = 0.2,
): { train: CardHistory[]; heldOut: CardHistory[]; cutoff: Date | null } {
  if (!(fraction > 0 && fraction < 1))
    throw badInput(`The held-out fraction is ${fraction}; it must be between 0 and 1.`, 'fraction');
  const sorted = histories.map((h) => ({ ...h, reviews: sortedReviews(h) }));
  const times = sorted.flatMap((h) => h.reviews.map((r) => r.reviewedAt.getTime())).sort((a, b) => a - b);
  if (times.length === 0) return { train: [], heldOut: [], cutoff: null };
  const cutoff = new Date(times[Math.min(times.length - 1, Math.floor(times.length * (1 - fraction)))]!);
  const train = sorted
    .map((h) => ({ cardId: h.cardId, reviews: h.reviews.filter((r) => r.reviewedAt < cutoff) }))
    .filter((h) => h.reviews.length > 0);
  const heldOut = sorted
    .filter((h) => h.reviews.some((r) => r.reviewedAt >= cutoff))
    .map((h) => ({ cardId: h.cardId, reviews: h.reviews, evaluateFrom: cutoff }));
  return { train, heldOut, cutoff };
}

/**
 * Walks every card's history and collects one prediction per scored review: reviews after the
 * card's first, on a later review day than the previous one (same-day reviews are not long-term
 * predictions; the srs-benchmark leaves them out too), at or after `evaluateFrom` when set.
 * `predict` gives p(recall) from the state before the review; `update` advances the state.
 */
function replay<S>(
  histories: readonly CardHistory[],
  dayStartHourUtc: number,
  init: (rating: Rating) => S,
  predict: (state: S, deltaDays: number) => number,
  update: (state: S, rating: Rating, deltaDays: number) => S,
): Prediction[] {
  const preds: Prediction[] = [];
  for (const history of histories) {
    const reviews = sortedReviews(history);
    const gaps = deltas(reviews, dayStartHourUtc);
    let state: S | null = null;
    reviews.forEach((review, i) => {
      const delta = gaps[i]!;
      if (state === null) {
        state = init(review.rating);
        return;
      }
      const scored = delta > 0 && (!history.evaluateFrom || review.reviewedAt >= history.evaluateFrom);
      if (scored) preds.push({ p: predict(state, delta), y: review.rating === 'AGAIN' ? 0 : 1 });
      state = update(state, review.rating, delta);
    });
  }
  return preds;
}

function calibration(preds: Prediction[]): Calibration {
  return { logLoss: logLoss(preds), rmseBins: rmseBins(preds), auc: auc(preds), count: preds.length };
}

/** Predictions of FSRS with `params` for the scored reviews of `histories` (see {@link evaluate}). */
export function fsrsPredictions(
  params: readonly number[],
  histories: readonly CardHistory[],
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): Prediction[] {
  if (params.length !== 21 || params.some((w) => !Number.isFinite(w))) {
    throw badInput(`FSRS-6 needs 21 finite parameters; got ${params.length}.`, 'params');
  }
  const model = new FSRSAlgorithm({ w: [...params], enable_short_term: true });
  return replay(
    histories,
    dayStartHourUtc,
    (rating) => model.next_state(null, 0, gradeOf(rating)),
    (state, delta) => forgetting_curve(params, delta, state.stability),
    (state, rating, delta) => model.next_state(state, delta, gradeOf(rating)),
  );
}

/**
 * Calibration of FSRS with `params` on `heldOutHistories`: each card's stability and difficulty are
 * replayed through its whole history with these parameters (ts-fsrs' `next_state`, short-term
 * memory on), and each scored review (see {@link splitHeldOut}) is predicted with the forgetting
 * curve R(t, S) of the state before it. Metrics from metrics.ts.
 */
export function evaluate(
  params: readonly number[],
  heldOutHistories: readonly CardHistory[],
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): Calibration {
  return calibration(fsrsPredictions(params, heldOutHistories, dayStartHourUtc));
}

/** Predictions of SM-2 (p = 0.9^(t/I), the interval SM-2 would have given) for the same reviews as {@link evaluate}. */
export function sm2Predictions(
  histories: readonly CardHistory[],
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): Prediction[] {
  return replay<Sm2State>(
    histories,
    dayStartHourUtc,
    (rating) => sm2Review(SM2_NEW, rating),
    (state, delta) => sm2RecallProbability(delta, state.intervalDays),
    // SM-2 has no same-day steps: only the first review of a day moves it.
    (state, rating, delta) => (delta > 0 ? sm2Review(state, rating) : state),
  );
}

/** The SM-2 baseline's calibration on the same held-out reviews as {@link evaluate}. */
export function evaluateSm2(
  heldOutHistories: readonly CardHistory[],
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): Calibration {
  return calibration(sm2Predictions(heldOutHistories, dayStartHourUtc));
}
