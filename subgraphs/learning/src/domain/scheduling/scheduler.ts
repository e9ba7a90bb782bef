/**
 * FSRS-6 review scheduling over ts-fsrs: a card's stored state, a review's outcome and log, the
 * card's retrievability, and the four possible outcomes for the UI.
 *
 * Days: ts-fsrs counts elapsed days between UTC calendar dates. Here every date is shifted by the
 * review day's start hour before it reaches ts-fsrs (and back after), so "days" are review days
 * (04:00–04:00 UTC by default, {@link dayNumber}), as in Anki.
 */
import {
  Rating as FsrsRating,
  State as FsrsState,
  StrategyMode,
  default_w,
  forgetting_curve,
  fsrs,
  type AbstractScheduler,
  type Card,
  type FSRS,
  type Grade,
  type StepUnit,
} from 'ts-fsrs';
import { badInput } from '@coursegraph/service-kit';
import { randomFromSeed } from '../assessment/seeded-random.js';
import {
  DAY_START_HOUR_UTC_DEFAULT,
  LOAD_BALANCE_MIN_INTERVAL_DAYS,
  balancedInterval,
  dayNumber,
  type DayLoad,
} from './load-balance.js';

/** Where a card is in its life: never seen, in (re)learning steps, or in long-term review. */
export type CardStateName = 'NEW' | 'LEARNING' | 'REVIEW' | 'RELEARNING';

/** The four answers a learner gives to a review. */
export type Rating = 'AGAIN' | 'HARD' | 'GOOD' | 'EASY';

/** The ratings in order, worst to best. */
export const RATINGS: readonly Rating[] = ['AGAIN', 'HARD', 'GOOD', 'EASY'];

/** A card's scheduling state as stored. Stability in days, difficulty 1..10, counts whole. */
export interface CardState {
  state: CardStateName;
  /** When the card is next due (a moment; review cards are due from the start of that review day). */
  due: Date;
  /** FSRS stability: days until retrievability falls to 90%. 0 for a new card. */
  stability: number;
  /** FSRS difficulty, 1 (easy) to 10 (hard). 0 for a new card. */
  difficulty: number;
  /** Review days between the last two reviews. */
  elapsedDays: number;
  /** The interval last scheduled, in days (0 while in learning steps). */
  scheduledDays: number;
  /** Index of the current (re)learning step. */
  learningSteps: number;
  /** Number of reviews. */
  reps: number;
  /** Number of times the card was forgotten in review (Again on a REVIEW card). */
  lapses: number;
  /** When the card was last reviewed; null for a new card. */
  lastReview: Date | null;
}

/** What a review leaves behind: enough for the optimizer, the simulator and undo. */
export interface ReviewLogEntry {
  rating: Rating;
  /** The card's state before the review. */
  stateBefore: CardStateName;
  /** Review days since the previous review (0 for a card's first review or a same-day review). */
  elapsedDays: number;
  /** The interval the card had been given before this review, in days. */
  scheduledDaysBefore: number;
  /** The interval this review gave, in days (0 while in learning steps). */
  scheduledDays: number;
  /** Predicted probability of recall at the review (FSRS retrievability); null for a new card. */
  retrievability: number | null;
  reviewedAt: Date;
  /** The whole card as it was before the review: restoring it undoes the review. */
  cardBefore: CardState;
}

/** Scheduler settings. */
export interface SchedulerOptions {
  /** The 21 FSRS-6 weights; default ts-fsrs' `default_w`. */
  params?: readonly number[];
  /** Target probability of recall at the due date; default 0.9, accepted 0.7..0.99 (Anki's range). */
  desiredRetention?: number;
  /** The longest interval, in days; default 36500. */
  maximumIntervalDays?: number;
  /** Learning steps for new cards; default ['1m', '10m']. */
  learningSteps?: readonly StepUnit[];
  /** Relearning steps after a lapse; default ['10m']. */
  relearningSteps?: readonly StepUnit[];
  /** Spread review intervals (random fuzz, or load balancing when a day load is given); default true. */
  fuzz?: boolean;
  /** Hour (UTC, 0..23) the review day starts; default 4. */
  dayStartHourUtc?: number;
}

/** One possible outcome of a review, for the UI. */
export interface PreviewOutcome {
  state: CardStateName;
  due: Date;
  /** The interval in days (0 while in learning steps). */
  scheduledDays: number;
}

/** A scheduler with fixed settings. */
export interface Scheduler {
  /** The FSRS-6 weights in use. */
  readonly params: readonly number[];
  /** The settings in use, defaults filled in. */
  readonly options: Readonly<Required<SchedulerOptions>>;
  /**
   * Applies `rating` at `now`. With `load` (and fuzz on), a REVIEW interval of 3 days or more is
   * load-balanced inside the fuzz range; without it, ts-fsrs' random fuzz applies. `seed` (e.g. the
   * card's id) makes fuzz differ between cards in identical states; the result is deterministic
   * given the card, rating, time, load and seed. Refuses an unknown rating, a malformed card, or a
   * review before the card's last review.
   */
  review(
    card: CardState,
    rating: Rating,
    now: Date,
    load?: DayLoad,
    seed?: string,
  ): { card: CardState; log: ReviewLogEntry };
  /** Probability of recall at `now` (0..1), over whole review days since the last review; null for a new card. */
  retrievability(card: CardState, now: Date): number | null;
  /** The four outcomes at `now` (fuzzed as `review` would without a load). */
  preview(card: CardState, now: Date, seed?: string): Record<Rating, PreviewOutcome>;
}

const STATE_TO_FSRS: Record<CardStateName, FsrsState> = {
  NEW: FsrsState.New,
  LEARNING: FsrsState.Learning,
  REVIEW: FsrsState.Review,
  RELEARNING: FsrsState.Relearning,
};
const STATE_FROM_FSRS: Record<FsrsState, CardStateName> = {
  [FsrsState.New]: 'NEW',
  [FsrsState.Learning]: 'LEARNING',
  [FsrsState.Review]: 'REVIEW',
  [FsrsState.Relearning]: 'RELEARNING',
};
const RATING_TO_GRADE: Record<Rating, Grade> = {
  AGAIN: FsrsRating.Again,
  HARD: FsrsRating.Hard,
  GOOD: FsrsRating.Good,
  EASY: FsrsRating.Easy,
};

/** The FSRS grade (1..4) of a rating. */
export function gradeOf(rating: Rating): Grade {
  const grade = RATING_TO_GRADE[rating];
  if (grade === undefined)
    throw badInput(`Unknown rating "${String(rating)}"; use AGAIN, HARD, GOOD or EASY.`, 'rating');
  return grade;
}

/** The FSRS-6 default weights (ts-fsrs' `default_w`, 21 numbers). */
export const DEFAULT_PARAMS: readonly number[] = default_w;

/** A card never reviewed, due at `now`. */
export function newCardState(now: Date): CardState {
  return {
    state: 'NEW',
    due: new Date(now.getTime()),
    stability: 0,
    difficulty: 0,
    elapsedDays: 0,
    scheduledDays: 0,
    learningSteps: 0,
    reps: 0,
    lapses: 0,
    lastReview: null,
  };
}

const STEP = /^\d+(\.\d+)?[mhd]$/;

function checkOptions(options: SchedulerOptions): Required<SchedulerOptions> {
  const params = options.params ?? DEFAULT_PARAMS;
  if (params.length !== 21 || params.some((w) => typeof w !== 'number' || !Number.isFinite(w))) {
    throw badInput(`FSRS-6 needs 21 finite parameters; got ${params.length}.`, 'params');
  }
  const desiredRetention = options.desiredRetention ?? 0.9;
  if (!(desiredRetention >= 0.7 && desiredRetention <= 0.99)) {
    throw badInput(`Desired retention is ${desiredRetention}; it must be between 0.7 and 0.99.`, 'desiredRetention');
  }
  const maximumIntervalDays = options.maximumIntervalDays ?? 36500;
  if (!Number.isInteger(maximumIntervalDays) || maximumIntervalDays < 1 || maximumIntervalDays > 36500) {
    throw badInput(
      `The maximum interval is ${maximumIntervalDays} days; it must be a whole number from 1 to 36500.`,
      'maximumIntervalDays',
    );
  }
  const learningSteps = options.learningSteps ?? (['1m', '10m'] as const);
  const relearningSteps = options.relearningSteps ?? (['10m'] as const);
  for (const [field, steps] of [
    ['learningSteps', learningSteps],
    ['relearningSteps', relearningSteps],
  ] as const) {
    const bad = steps.find((s) => !STEP.test(s) || Number.parseFloat(s) <= 0);
    if (bad !== undefined)
      throw badInput(`The step "${bad}" is not a positive duration like 1m, 10m, 1h or 1d.`, field);
  }
  const dayStartHourUtc = options.dayStartHourUtc ?? DAY_START_HOUR_UTC_DEFAULT;
  dayNumber(new Date(0), dayStartHourUtc); // validates the hour
  return {
    params: [...params],
    desiredRetention,
    maximumIntervalDays,
    learningSteps: [...learningSteps],
    relearningSteps: [...relearningSteps],
    fuzz: options.fuzz ?? true,
    dayStartHourUtc,
  };
}

function checkCard(card: CardState): void {
  if (STATE_TO_FSRS[card.state] === undefined) {
    throw badInput(`Unknown card state "${String(card.state)}".`, 'state');
  }
  if (!(card.due instanceof Date) || Number.isNaN(card.due.getTime()))
    throw badInput('The card has no valid due date.', 'due');
  if (card.state !== 'NEW') {
    if (!(card.stability > 0) || !(card.difficulty >= 1 && card.difficulty <= 10)) {
      throw badInput(
        `A reviewed card needs stability > 0 and difficulty 1..10; got ${card.stability} and ${card.difficulty}.`,
        'stability',
      );
    }
    if (!(card.lastReview instanceof Date) || Number.isNaN(card.lastReview.getTime())) {
      throw badInput('A reviewed card needs the time of its last review.', 'lastReview');
    }
  }
}

function checkNow(now: Date, card: CardState): void {
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw badInput('The review time is not a valid date.', 'now');
  if (card.lastReview && now.getTime() < card.lastReview.getTime()) {
    throw badInput('The review time is before the card’s last review.', 'now');
  }
}

/** The seed field ts-fsrs' seed strategy reads from the card it is given. */
const SEED_FIELD = 'coursegraphSeed';

/** ts-fsrs' own default seed (review time, reps, D×S), prefixed by ours so identical cards differ. */
function seedStrategy(this: AbstractScheduler): string {
  // `current` is protected in the typings; the strategy runs as the scheduler's method, as ts-fsrs designs it.
  const current = (this as unknown as { current: Card & Record<string, unknown>; review_time: Date }).current;
  const time = (this as unknown as { review_time: Date }).review_time.getTime();
  const extra = current[SEED_FIELD];
  return `${typeof extra === 'string' ? extra : ''}_${time}_${current.reps}_${current.difficulty * current.stability}`;
}

/** Builds a scheduler; see {@link SchedulerOptions} for the defaults. Refuses invalid options. */
export function createScheduler(options: SchedulerOptions = {}): Scheduler {
  const opts = checkOptions(options);
  const shift = opts.dayStartHourUtc * 3_600_000;
  const base = {
    w: opts.params,
    request_retention: opts.desiredRetention,
    maximum_interval: opts.maximumIntervalDays,
    learning_steps: opts.learningSteps as StepUnit[],
    relearning_steps: opts.relearningSteps as StepUnit[],
    enable_short_term: true,
  };
  const fuzzed: FSRS = fsrs({ ...base, enable_fuzz: opts.fuzz }).useStrategy(StrategyMode.SEED, seedStrategy);
  const exact: FSRS = fsrs({ ...base, enable_fuzz: false });

  // Dates go to ts-fsrs shifted back by the day-start hour, so its UTC calendar days are review days.
  const toFsrs = (card: CardState, seed: string | undefined): Card & Record<string, unknown> => ({
    due: new Date(card.due.getTime() - shift),
    stability: card.stability,
    difficulty: card.difficulty,
    elapsed_days: card.elapsedDays,
    scheduled_days: card.scheduledDays,
    learning_steps: card.learningSteps,
    reps: card.reps,
    lapses: card.lapses,
    state: STATE_TO_FSRS[card.state],
    ...(card.lastReview ? { last_review: new Date(card.lastReview.getTime() - shift) } : {}),
    [SEED_FIELD]: seed ?? '',
  });
  const fromFsrs = (card: Card): CardState => ({
    state: STATE_FROM_FSRS[card.state],
    due: new Date(card.due.getTime() + shift),
    stability: card.stability,
    difficulty: card.difficulty,
    elapsedDays: card.elapsed_days,
    scheduledDays: card.scheduled_days,
    learningSteps: card.learning_steps,
    reps: card.reps,
    lapses: card.lapses,
    lastReview: card.last_review ? new Date(card.last_review.getTime() + shift) : null,
  });

  const retrievability = (card: CardState, now: Date): number | null => {
    checkCard(card);
    if (card.state === 'NEW' || !card.lastReview) return null;
    const t = Math.max(0, dayNumber(now, opts.dayStartHourUtc) - dayNumber(card.lastReview, opts.dayStartHourUtc));
    return forgetting_curve(opts.params, t, card.stability);
  };

  return {
    params: opts.params,
    options: opts,
    retrievability,
    review(card, rating, now, load, seed) {
      const grade = gradeOf(rating);
      checkCard(card);
      checkNow(now, card);
      const before = cloneCard(card);
      const predicted = retrievability(card, now);
      const balance = load !== undefined && opts.fuzz;
      const shiftedNow = new Date(now.getTime() - shift);
      const result = (balance ? exact : fuzzed).next(toFsrs(card, seed), shiftedNow, grade);
      let next = fromFsrs(result.card);
      if (balance && next.state === 'REVIEW' && next.scheduledDays >= LOAD_BALANCE_MIN_INTERVAL_DAYS) {
        const days = balancedInterval({
          intervalDays: next.scheduledDays,
          elapsedDays: result.log.elapsed_days,
          maximumIntervalDays: opts.maximumIntervalDays,
          today: dayNumber(now, opts.dayStartHourUtc),
          load,
          random: randomFromSeed(`${seed ?? ''}:${now.getTime()}:${card.reps}`),
        });
        next = { ...next, scheduledDays: days, due: new Date(now.getTime() + days * 86_400_000) };
      }
      return {
        card: next,
        log: {
          rating,
          stateBefore: card.state,
          elapsedDays: card.state === 'NEW' ? 0 : result.log.elapsed_days,
          scheduledDaysBefore: card.scheduledDays,
          scheduledDays: next.scheduledDays,
          retrievability: predicted,
          reviewedAt: new Date(now.getTime()),
          cardBefore: before,
        },
      };
    },
    preview(card, now, seed) {
      checkCard(card);
      checkNow(now, card);
      const outcomes = fuzzed.repeat(toFsrs(card, seed), new Date(now.getTime() - shift));
      const out = {} as Record<Rating, PreviewOutcome>;
      for (const rating of RATINGS) {
        const next = fromFsrs(outcomes[RATING_TO_GRADE[rating]].card);
        out[rating] = { state: next.state, due: next.due, scheduledDays: next.scheduledDays };
      }
      return out;
    },
  };
}

function cloneCard(card: CardState): CardState {
  return {
    ...card,
    due: new Date(card.due.getTime()),
    lastReview: card.lastReview ? new Date(card.lastReview.getTime()) : null,
  };
}
