/**
 * The daily review queue: how many new and review cards a learner may still get today, in which
 * order, and sibling burying (Anki's v3 scheduler rules, simplified).
 */
import { badInput } from '@coursegraph/service-kit';
import { DAY_START_HOUR_UTC_DEFAULT, dayNumber, dayStart } from './load-balance.js';
import type { CardStateName } from './scheduler.js';

/** Anki's default daily limit of new cards. */
export const NEW_PER_DAY_DEFAULT = 20;
/** Anki's default daily limit of reviews. */
export const REVIEWS_PER_DAY_DEFAULT = 200;

/** What {@link dueQueuePlan} needs; limits default to 20 new and 200 reviews a day. */
export interface QueuePlanInput {
  newPerDay?: number;
  reviewsPerDay?: number;
  /** New cards first reviewed today. */
  newIntroducedToday: number;
  /** Review cards (state REVIEW before the review) reviewed today. */
  reviewsDoneToday: number;
}

function count(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0)
    throw badInput(`${field} is ${value}; it must be a whole number ≥ 0.`, field);
  return value;
}

/**
 * How many new and review cards the queue may still hold today. Learning cards are never limited.
 * As in Anki's v3 scheduler, new cards also count against the review limit: the new limit is at
 * most what is left of the review limit, so a backlog of reviews pauses new cards.
 */
export function dueQueuePlan(input: QueuePlanInput): { newLimit: number; reviewLimit: number } {
  const newPerDay = count(input.newPerDay ?? NEW_PER_DAY_DEFAULT, 'newPerDay');
  const reviewsPerDay = count(input.reviewsPerDay ?? REVIEWS_PER_DAY_DEFAULT, 'reviewsPerDay');
  const introduced = count(input.newIntroducedToday, 'newIntroducedToday');
  const done = count(input.reviewsDoneToday, 'reviewsDoneToday');
  const reviewLimit = Math.max(0, reviewsPerDay - done);
  return { newLimit: Math.min(Math.max(0, newPerDay - introduced), reviewLimit), reviewLimit };
}

/** The fields of a card row the queue order reads. */
export interface QueueCard {
  id: string;
  state: CardStateName;
  due: Date;
  /** Order in which new cards are introduced (e.g. the item's place in the course); lower first. */
  position: number;
}

const GROUP: Record<CardStateName, number> = { LEARNING: 0, RELEARNING: 0, REVIEW: 1, NEW: 2 };

/**
 * Queue order, as an `Array.prototype.sort` comparator: (re)learning cards first by due time, then
 * review cards by due, then new cards by position; ids break ties so the order is total.
 */
export function compareQueueCards(a: QueueCard, b: QueueCard): number {
  const group = GROUP[a.state] - GROUP[b.state];
  if (group !== 0) return group;
  const key = a.state === 'NEW' ? a.position - b.position : a.due.getTime() - b.due.getTime();
  if (key !== 0) return key;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Whether a card belongs in the queue at `now`: (re)learning cards once their due moment has come;
 * review cards from the start of their due review day (so all of a day's reviews can be done in
 * the morning); new cards always (subject to the new limit).
 */
export function isInQueue(
  card: Pick<QueueCard, 'state' | 'due'>,
  now: Date,
  dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT,
): boolean {
  if (card.state === 'NEW') return true;
  if (card.state === 'REVIEW') return dayNumber(card.due, dayStartHourUtc) <= dayNumber(now, dayStartHourUtc);
  return card.due.getTime() <= now.getTime();
}

/** The start of the next review day after `now` (default day start 04:00 UTC): buried cards return then. */
export function buryUntil(now: Date, dayStartHourUtc = DAY_START_HOUR_UTC_DEFAULT): Date {
  return dayStart(dayNumber(now, dayStartHourUtc) + 1, dayStartHourUtc);
}

/** A card row for sibling burying: cards with the same `noteId` (item or note) are siblings. */
export interface SiblingCard {
  id: string;
  noteId: string;
  state: CardStateName;
}

/**
 * The ids of the cards to bury until {@link buryUntil} after `reviewed` is answered: its siblings
 * (same note) that are NEW or REVIEW. (Re)learning siblings stay, as in Anki, since steps are short.
 */
export function siblingsToBury(reviewed: Pick<SiblingCard, 'id' | 'noteId'>, cards: readonly SiblingCard[]): string[] {
  return cards
    .filter((c) => c.noteId === reviewed.noteId && c.id !== reviewed.id && (c.state === 'NEW' || c.state === 'REVIEW'))
    .map((c) => c.id);
}
