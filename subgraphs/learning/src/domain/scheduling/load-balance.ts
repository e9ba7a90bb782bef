/**
 * Load balancing: instead of a purely random fuzz, a review card's next due day is chosen inside
 * the fuzz range as a lightly loaded day that stays near the interval FSRS asked for, so that the
 * daily workload stays flat (issue 14: the busiest day of a simulated month holds at most 1.25×
 * the month's average).
 */
import { get_fuzz_range } from 'ts-fsrs';
import { badInput } from '@coursegraph/service-kit';

/**
 * Due counts per day: returns the number of cards due on each day number `firstDay..lastDay`
 * (inclusive, so `lastDay - firstDay + 1` numbers). Day numbers come from {@link dayNumber}.
 */
export type DayLoad = (firstDay: number, lastDay: number) => number[];

/** Anki's default: the review day starts at 04:00 (here in UTC), so late-night reviews count for the evening's day. */
export const DAY_START_HOUR_UTC_DEFAULT = 4;

/**
 * Intervals (in days) from which load balancing applies. ts-fsrs fuzzes intervals of 2.5 days and
 * more, which after rounding means 3 days; below that the fuzz range is a single day, so there is
 * nothing to balance.
 */
export const LOAD_BALANCE_MIN_INTERVAL_DAYS = 3;

/**
 * How much a day's distance from the target interval costs, relative to its load: a day `k` days
 * away from the target scores as if it carried `1 + DISTANCE_PENALTY × k / target` times its load.
 * 0.5 keeps the choice inside a fuzz range of ±5% (long intervals) to ±15% (short) near the target
 * unless the nearer days are noticeably busier.
 */
export const DISTANCE_PENALTY = 0.5;

const DAY_MS = 86_400_000;

function checkHour(dayStartHourUtc: number): void {
  if (!Number.isInteger(dayStartHourUtc) || dayStartHourUtc < 0 || dayStartHourUtc > 23) {
    throw badInput(
      `The day start hour is ${dayStartHourUtc}; it must be a whole hour from 0 to 23 (UTC).`,
      'dayStartHourUtc',
    );
  }
}

/**
 * The review day of `date`: whole days since 1970-01-01 at `dayStartHourUtc` (default 4, i.e. a
 * review day runs 04:00–04:00 UTC).
 */
export function dayNumber(date: Date, dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT): number {
  checkHour(dayStartHourUtc);
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw badInput('The date is not a valid date.', 'date');
  return Math.floor((ms - dayStartHourUtc * 3_600_000) / DAY_MS);
}

/** The instant review day `day` starts (the inverse of {@link dayNumber} for a day's first moment). */
export function dayStart(day: number, dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT): Date {
  checkHour(dayStartHourUtc);
  return new Date(day * DAY_MS + dayStartHourUtc * 3_600_000);
}

/** What {@link balancedInterval} needs. */
export interface BalanceInput {
  /** The interval FSRS computed, in whole days (before any fuzz). */
  intervalDays: number;
  /** Days since the card's last review (ts-fsrs uses it to keep the new interval beyond it). */
  elapsedDays: number;
  /** The longest allowed interval, in days. */
  maximumIntervalDays: number;
  /** Today's day number ({@link dayNumber}). */
  today: number;
  /** Due counts per day. */
  load: DayLoad;
  /** A draw in [0, 1) from a generator seeded from the card: breaks ties reproducibly. */
  random: () => number;
}

/**
 * The interval (days) to schedule, chosen inside ts-fsrs' fuzz range (`get_fuzz_range`): the day
 * minimising `(load + 1) × (1 + DISTANCE_PENALTY × |d − target| / target)`, ties broken by a seeded
 * draw. Intervals under {@link LOAD_BALANCE_MIN_INTERVAL_DAYS} are returned unchanged. Deterministic
 * given its inputs (the draw included).
 */
export function balancedInterval(input: BalanceInput): number {
  const { intervalDays, elapsedDays, maximumIntervalDays, today, load, random } = input;
  if (!Number.isFinite(intervalDays) || intervalDays < 1) {
    throw badInput(`The interval is ${intervalDays} days; it must be at least 1.`, 'intervalDays');
  }
  if (intervalDays < LOAD_BALANCE_MIN_INTERVAL_DAYS) return Math.round(intervalDays);
  const { min_ivl: min, max_ivl: max } = get_fuzz_range(intervalDays, elapsedDays, maximumIntervalDays);
  const counts = load(today + min, today + max);
  if (counts.length !== max - min + 1 || counts.some((c) => !Number.isFinite(c) || c < 0)) {
    throw badInput(
      `The day load must give ${max - min + 1} non-negative counts for days ${today + min}..${today + max}.`,
      'load',
    );
  }
  let best = Math.round(intervalDays);
  let bestScore = Number.POSITIVE_INFINITY;
  for (let d = min; d <= max; d++) {
    const distance = Math.abs(d - intervalDays) / intervalDays;
    // The jitter (< 1e-9 of a card) only separates exact ties, so equal days are not always resolved the same way.
    const score = (counts[d - min]! + 1) * (1 + DISTANCE_PENALTY * distance) + random() * 1e-9;
    if (score < bestScore) {
      bestScore = score;
      best = d;
    }
  }
  return best;
}
