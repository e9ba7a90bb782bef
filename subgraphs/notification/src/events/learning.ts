/**
 * The learning context's events that become notifications: the daily study reminder. Learning
 * publishes learning.cards.due at most once per learner and review day; notification still keys the
 * reminder by (user, day) on every channel, so a redelivery, a replay or a second event for the same
 * day adds nothing.
 */
import { LearningEvents } from '@coursegraph/contracts';
import { isUuid, on, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { deliver } from '../domain/deliver.js';
import { patient } from './notifications.js';

/** A learning.cards.due this consumer cannot act on; it is retried, then dead-lettered, having changed nothing. */
export class InvalidCardsDue extends Error {
  override name = 'InvalidCardsDue';
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `day` is a real calendar date written YYYY-MM-DD (it becomes part of a dedupe key). */
function isCalendarDay(day: string): boolean {
  const m = DAY.exec(day);
  if (!m) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.toISOString().slice(0, 10) === day;
}

function checked(payload: { userId: string; dueCount: number; newCount: number; day: string }) {
  const { userId, dueCount, newCount, day } = payload;
  if (!isUuid(userId)) throw new InvalidCardsDue(`user_id is not a UUID: ${JSON.stringify(userId)}`);
  if (dueCount < 0 || newCount < 0)
    throw new InvalidCardsDue(`due_count and new_count must not be negative (got ${dueCount} and ${newCount})`);
  if (!isCalendarDay(day)) throw new InvalidCardsDue(`day is not a calendar date YYYY-MM-DD: ${JSON.stringify(day)}`);
  return { userId: userId.toLowerCase(), dueCount, newCount, day };
}

/** Applies one learning.cards.due in the consumer's transaction. */
export async function applyCardsDue(tx: Tx, e: ReceivedEvent<typeof LearningEvents.cardsDue>): Promise<void> {
  const { userId, dueCount, newCount, day } = checked(e.payload);
  if (dueCount + newCount === 0) return; // nothing to study: no reminder
  const key = `cards-due:${day}`;
  await deliver(
    tx,
    {
      userId,
      eventId: e.id,
      input: { type: 'CARDS_DUE', data: { dueCount, newCount } },
      traceparent: e.traceparent,
      now: new Date(),
      // One reminder per user and review day, in the inbox and by mail (immediate or digest) alike.
      inboxDedupeKey: key,
      emailDedupeKey: key,
    },
    patient(e),
  );
}

export const learningHandlers = [on(LearningEvents.cardsDue, applyCardsDue)];
