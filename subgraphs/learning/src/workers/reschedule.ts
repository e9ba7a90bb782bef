/**
 * Rescheduling a learner's REVIEW cards after their FSRS parameters change: each card's history is
 * replayed with the new weights (ts-fsrs `next_state` over review-day gaps, short-term memory on,
 * as the optimiser's `evaluate` does) to get its stability and difficulty; the new due date is the
 * last review plus the interval for the learner's desired retention, never before now. Each card's
 * `version` is bumped, so a review fetched against its old state is refused.
 *
 * No fuzz and no load balancing here: the card's next review spreads it again as usual.
 */
import { FSRSAlgorithm } from 'ts-fsrs';
import type { Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import { DEFAULT_PARAMS, gradeOf } from '../domain/scheduling/scheduler.js';
import { DAY_START_HOUR_UTC_DEFAULT, dayNumber } from '../domain/scheduling/load-balance.js';
import type { CardHistory } from '../domain/scheduling/optimizer.js';

const DAY_MS = 86_400_000;
/** The scheduler's longest interval (scheduler.ts, maximumIntervalDays default). */
const MAXIMUM_INTERVAL_DAYS = 36_500;

/** A card's memory and schedule after the replay. */
export interface Rescheduled {
  cardId: string;
  stability: number;
  difficulty: number;
  scheduledDays: number;
  due: Date;
  /** The last review replayed: the card is updated only if it is still its last review. */
  lastReview: Date;
}

/**
 * The new memory state and due date of one card from its history (null without reviews).
 * `params` empty means FSRS-6's defaults.
 */
export function replayCard(
  history: CardHistory,
  params: readonly number[],
  desiredRetention: number,
  now: Date,
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): Rescheduled | null {
  const model = new FSRSAlgorithm({
    w: [...(params.length > 0 ? params : DEFAULT_PARAMS)],
    request_retention: desiredRetention,
    maximum_interval: MAXIMUM_INTERVAL_DAYS,
    enable_short_term: true,
    enable_fuzz: false,
  });
  const reviews = [...history.reviews].sort((a, b) => a.reviewedAt.getTime() - b.reviewedAt.getTime());
  if (reviews.length === 0) return null;
  let state = model.next_state(null, 0, gradeOf(reviews[0]!.rating));
  for (let i = 1; i < reviews.length; i++) {
    const delta =
      dayNumber(reviews[i]!.reviewedAt, dayStartHourUtc) - dayNumber(reviews[i - 1]!.reviewedAt, dayStartHourUtc);
    state = model.next_state(state, delta, gradeOf(reviews[i]!.rating));
  }
  const last = reviews[reviews.length - 1]!.reviewedAt;
  const interval = model.next_interval(state.stability, 0);
  const due = new Date(Math.max(last.getTime() + interval * DAY_MS, now.getTime()));
  return {
    cardId: history.cardId,
    stability: state.stability,
    difficulty: state.difficulty,
    scheduledDays: interval,
    due,
    lastReview: last,
  };
}

export interface RescheduleOptions {
  userId: string;
  histories: readonly CardHistory[];
  /** The learner's parameters now in force (empty: the defaults). */
  params: readonly number[];
  desiredRetention: number;
  now: Date;
  /** Cards per transaction. */
  chunk: number;
  logger: Logger;
}

/**
 * Rewrites the learner's REVIEW cards, `chunk` cards per transaction. A card reviewed (or undone)
 * since its history was read has another last review and is left alone: its next review already
 * uses the new parameters. Returns how many cards were rewritten.
 */
export async function rescheduleReviewCards(db: PrismaClient, options: RescheduleOptions): Promise<number> {
  const { userId, histories, params, desiredRetention, now, chunk, logger } = options;
  const byCard = new Map(histories.map((h) => [h.cardId, h]));
  const cards = await db.card.findMany({
    where: { userId, state: 'REVIEW' },
    select: { id: true },
    orderBy: { id: 'asc' },
  });
  let updated = 0;
  for (let start = 0; start < cards.length; start += chunk) {
    const rows = cards
      .slice(start, start + chunk)
      .map((c) => byCard.get(c.id))
      .filter((h): h is CardHistory => h !== undefined)
      .map((h) => replayCard(h, params, desiredRetention, now))
      .filter((r): r is Rescheduled => r !== null);
    if (rows.length === 0) continue;
    // One statement per chunk (its own transaction); the last_review condition is re-checked under
    // each row's lock, so a review that commits meanwhile wins.
    updated += await db.$executeRaw`
      update cards c
         set stability = v.stability, difficulty = v.difficulty, scheduled_days = v.scheduled_days,
             due = v.due, version = c.version + 1
        from unnest(${rows.map((r) => r.cardId)}::uuid[], ${rows.map((r) => r.stability)}::float8[],
                    ${rows.map((r) => r.difficulty)}::float8[], ${rows.map((r) => r.scheduledDays)}::float8[],
                    ${rows.map((r) => r.due.toISOString())}::timestamptz[],
                    ${rows.map((r) => r.lastReview.toISOString())}::timestamptz[])
             as v(id, stability, difficulty, scheduled_days, due, last_review)
       where c.id = v.id and c.user_id = ${userId}::uuid and c.state = 'REVIEW' and c.last_review = v.last_review`;
    logger.info(
      { userId, done: Math.min(start + chunk, cards.length), of: cards.length, rescheduled: updated },
      'fsrs reschedule progress',
    );
  }
  return updated;
}
