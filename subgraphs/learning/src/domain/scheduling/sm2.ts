/**
 * SuperMemo 2 (P. Woźniak, 1990; supermemo.com/en/blog/application-of-a-computer-to-improve-the-results-obtained-in-working-with-the-supermemo-method),
 * the baseline FSRS is measured against: an ease factor per card and intervals 1, 6, then I × EF.
 */
import { badInput } from '@coursegraph/service-kit';
import { gradeOf, type Rating } from './scheduler.js';

/** An SM-2 card: successful repetitions in a row, ease factor, and the current interval in days. */
export interface Sm2State {
  repetitions: number;
  easeFactor: number;
  intervalDays: number;
}

/** SM-2's starting ease factor. */
export const SM2_INITIAL_EASE = 2.5;
/** SM-2's lowest ease factor. */
export const SM2_MIN_EASE = 1.3;

/** A card before its first review: no repetitions, EF 2.5, no interval. */
export const SM2_NEW: Readonly<Sm2State> = Object.freeze({
  repetitions: 0,
  easeFactor: SM2_INITIAL_EASE,
  intervalDays: 0,
});

/**
 * SM-2's response quality (0..5) for a rating: Again 1 (recalled nothing), Hard 3 (recalled with
 * serious difficulty, the lowest passing grade), Good 4, Easy 5 (perfect).
 */
export const SM2_QUALITY: Readonly<Record<Rating, number>> = Object.freeze({ AGAIN: 1, HARD: 3, GOOD: 4, EASY: 5 });

/**
 * One SM-2 review. Quality ≥ 3: intervals 1, then 6, then round(I × EF) days; quality < 3: the
 * repetitions restart at interval 1. The ease factor changes on every answer by
 * 0.1 − (5 − q)(0.08 + (5 − q)0.02), never below 1.3 (as the srs-benchmark's SM-2 does).
 */
export function sm2Review(state: Sm2State, rating: Rating): Sm2State {
  gradeOf(rating); // refuses an unknown rating
  if (!Number.isInteger(state.repetitions) || state.repetitions < 0 || !(state.easeFactor >= SM2_MIN_EASE)) {
    throw badInput('An SM-2 state needs whole repetitions ≥ 0 and an ease factor ≥ 1.3.', 'state');
  }
  const q = SM2_QUALITY[rating];
  const easeFactor = Math.max(SM2_MIN_EASE, state.easeFactor + 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02));
  if (q < 3) return { repetitions: 0, easeFactor, intervalDays: 1 };
  const intervalDays =
    state.repetitions === 0
      ? 1
      : state.repetitions === 1
        ? 6
        : Math.max(1, Math.round(state.intervalDays * state.easeFactor));
  return { repetitions: state.repetitions + 1, easeFactor, intervalDays };
}

/**
 * SM-2's predicted probability of recall after `elapsedDays` of an `intervalDays` interval:
 * 0.9^(elapsed / interval), i.e. SM-2 read as aiming at 90% recall at the due date. This is how the
 * srs-benchmark (github.com/open-spaced-repetition/srs-benchmark) turns SM-2 into a predictor.
 */
export function sm2RecallProbability(elapsedDays: number, intervalDays: number): number {
  if (!Number.isFinite(elapsedDays) || elapsedDays < 0)
    throw badInput(`Elapsed days is ${elapsedDays}; it must be ≥ 0.`, 'elapsedDays');
  if (!Number.isFinite(intervalDays) || intervalDays <= 0)
    throw badInput(`The interval is ${intervalDays} days; it must be > 0.`, 'intervalDays');
  return 0.9 ** (elapsedDays / intervalDays);
}
