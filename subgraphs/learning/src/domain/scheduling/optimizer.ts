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
 * fsrs-rs training items: for each card and each review after its first that falls on a later review
 * day than the one before it (delta_t > 0), one item holding the card's reviews up to and including
 * it (ratings 1..4, delta_t in review days, the first 0). The optimizer predicts each item's last
 * review from the ones before it.
 *
 * Same-day reviews (learning and relearning steps) stay in the histories but end no item: fsrs-rs'
 * own converter and Anki build items the same way, since R(0, S) = 1 predicts nothing. Such items
 * would land in fsrs-rs' pre-training set (items with one long-term review, grouped by first rating
 * and the last review's delta_t, from which w0..w3 are fitted) as a delta_t = 0 group, inflate its
 * average recall, and make its `evaluate` refuse the whole set (InvalidInput). This also keeps out
 * items without a later-day review, on which fsrs-rs aborts the process (a panic it cannot unwind).
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
    for (let k = 1; k < binding.length; k++) if (gaps[k]! > 0) items.push(new FSRSBindingItem(binding.slice(0, k + 1)));
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
 * The srs-benchmark's RMSE(bins) group of a scored review (its `r_matrix` binning, also in fsrs-rs'
 * `evaluate`): the interval in days, the review count and the lapse count, each on a geometric
 * scale (bases 3.62, 1.89 and 1.73: the bin is the floor of the logarithm). `reviews` counts the
 * card's first review and its later-day reviews up to and including this one (so ≥ 2); `lapses` the
 * later-day Again answers before this one. The issue's anchor (RMSE(bins) 0.0462 for trained FSRS-6)
 * is measured this way; binning by the predicted p instead rewards a model that is right on average
 * but wrong for every interval.
 */
export function calibrationBin(intervalDays: number, reviews: number, lapses: number): string {
  const bin = (x: number, base: number) => Math.floor(Math.log(x) / Math.log(base));
  return `${bin(intervalDays, 3.62)}/${bin(reviews, 1.89)}/${lapses > 0 ? bin(lapses, 1.73) : 'none'}`;
}

/**
 * Walks every card's history and collects one prediction per scored review: reviews after the
 * card's first, on a later review day than the previous one (same-day reviews are not long-term
 * predictions; the srs-benchmark leaves them out too), at or after `evaluateFrom` when set. Each
 * carries its {@link calibrationBin}. `predict` gives p(recall) from the state before the review;
 * `update` advances the state.
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
    let longTerm = 0;
    let lapses = 0;
    reviews.forEach((review, i) => {
      const delta = gaps[i]!;
      if (state === null) {
        state = init(review.rating);
        return;
      }
      if (delta > 0) {
        longTerm += 1;
        if (!history.evaluateFrom || review.reviewedAt >= history.evaluateFrom) {
          preds.push({
            p: predict(state, delta),
            y: review.rating === 'AGAIN' ? 0 : 1,
            bin: calibrationBin(delta, longTerm + 1, lapses),
          });
        }
        if (review.rating === 'AGAIN') lapses += 1;
      }
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
 * curve R(t, S) of the state before it. Metrics from metrics.ts; RMSE(bins) groups reviews by
 * {@link calibrationBin}, as the srs-benchmark does.
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
