import { describe, expect, it } from 'vitest';
import { Rating as FsrsRating, State, createEmptyCard, fsrs, get_fuzz_range, type Card } from 'ts-fsrs';
import { createScheduler, newCardState, type CardState, type Rating } from '../../src/domain/scheduling/scheduler.js';
import { dayNumber } from '../../src/domain/scheduling/load-balance.js';

const MIN = 60_000;
const DAY = 86_400_000;
// 12:00 UTC, well inside a review day whichever of 00:00 or 04:00 it starts at.
const T0 = new Date('2026-03-02T12:00:00Z');

function reviewChain(ratings: Rating[], gapsMs: number[], options = {}) {
  const scheduler = createScheduler({ fuzz: false, ...options });
  let card = newCardState(T0);
  let now = T0;
  const cards: CardState[] = [];
  ratings.forEach((rating, i) => {
    now = new Date(now.getTime() + (gapsMs[i] ?? 0));
    card = scheduler.review(card, rating, now).card;
    cards.push(card);
  });
  return cards;
}

describe('scheduler', () => {
  it('moves due dates exactly as ts-fsrs does (no fuzz, day start 00:00 so both count the same days)', () => {
    const ratings: Rating[] = ['GOOD', 'GOOD', 'GOOD', 'HARD', 'AGAIN', 'GOOD', 'EASY', 'GOOD'];
    const grades = {
      AGAIN: FsrsRating.Again,
      HARD: FsrsRating.Hard,
      GOOD: FsrsRating.Good,
      EASY: FsrsRating.Easy,
    } as const;
    const f = fsrs({ enable_fuzz: false, learning_steps: ['1m', '10m'], relearning_steps: ['10m'] });
    const scheduler = createScheduler({ fuzz: false, dayStartHourUtc: 0 });
    let theirs: Card = createEmptyCard(T0);
    let ours = newCardState(T0);
    let now = T0;
    for (const rating of ratings) {
      theirs = f.next(theirs, now, grades[rating]).card;
      ours = scheduler.review(ours, rating, now).card;
      expect(ours.due.getTime()).toBe(theirs.due.getTime());
      expect(ours.stability).toBeCloseTo(theirs.stability, 10);
      expect(ours.difficulty).toBeCloseTo(theirs.difficulty, 10);
      expect(ours.state).toBe(State[theirs.state].toUpperCase());
      now = ours.due; // review exactly when due
    }
    expect(ours.reps).toBe(ratings.length);
    expect(ours.lapses).toBe(1);
  });

  it('walks a new card through the 1m and 10m learning steps, then graduates it', () => {
    const [first, second, third] = reviewChain(['AGAIN', 'GOOD', 'GOOD'], [0, MIN, 10 * MIN]);
    expect(first!.state).toBe('LEARNING');
    expect(first!.due.getTime() - T0.getTime()).toBe(MIN); // Again → the first step, 1m
    expect(second!.state).toBe('LEARNING');
    expect(second!.due.getTime() - (T0.getTime() + MIN)).toBe(10 * MIN); // Good → the second step, 10m
    expect(third!.state).toBe('REVIEW'); // Good on the last step graduates
    expect(third!.learningSteps).toBe(0);
    expect(third!.scheduledDays).toBeGreaterThanOrEqual(1);
    expect(third!.due.getTime() - (T0.getTime() + 11 * MIN)).toBe(third!.scheduledDays * DAY);
  });

  it('sends Good on a new card to the 10m step (ts-fsrs skips the first step on Good)', () => {
    const [first] = reviewChain(['GOOD'], [0]);
    expect(first!.state).toBe('LEARNING');
    expect(first!.due.getTime() - T0.getTime()).toBe(10 * MIN);
  });

  it('puts a review card into relearning (10m) on Again and counts a lapse', () => {
    const cards = reviewChain(['EASY', 'AGAIN', 'GOOD'], [0, 20 * DAY, 10 * MIN]);
    expect(cards[0]!.state).toBe('REVIEW');
    expect(cards[1]!.state).toBe('RELEARNING');
    expect(cards[1]!.lapses).toBe(1);
    expect(cards[1]!.due.getTime() - (T0.getTime() + 20 * DAY)).toBe(10 * MIN);
    expect(cards[1]!.stability).toBeLessThan(cards[0]!.stability);
    expect(cards[2]!.state).toBe('REVIEW');
  });

  it('logs what the optimizer and undo need', () => {
    const scheduler = createScheduler({ fuzz: false });
    const first = scheduler.review(newCardState(T0), 'EASY', T0);
    const later = new Date(T0.getTime() + 5 * DAY);
    const { log } = scheduler.review(first.card, 'GOOD', later);
    expect(log).toMatchObject({ rating: 'GOOD', stateBefore: 'REVIEW', elapsedDays: 5, reviewedAt: later });
    expect(log.scheduledDaysBefore).toBe(first.card.scheduledDays);
    expect(log.cardBefore).toEqual(first.card);
    expect(log.retrievability).toBeCloseTo(scheduler.retrievability(first.card, later)!, 12);
    expect(first.log.retrievability).toBeNull();
  });

  it('gives retrievability 1 on the review day, lower after, and null for a new card', () => {
    const scheduler = createScheduler({ fuzz: false });
    const card = scheduler.review(newCardState(T0), 'EASY', T0).card;
    expect(scheduler.retrievability(newCardState(T0), T0)).toBeNull();
    expect(scheduler.retrievability(card, T0)).toBe(1);
    const atDue = scheduler.retrievability(card, card.due)!;
    // Due at the interval FSRS computed for 90% retention: retrievability there is about 0.9.
    expect(atDue).toBeGreaterThan(0.85);
    expect(atDue).toBeLessThan(0.95);
  });

  it('counts elapsed days in review days that start at 04:00 UTC', () => {
    const scheduler = createScheduler({ fuzz: false });
    const late = new Date('2026-03-02T23:30:00Z');
    const card = scheduler.review(newCardState(late), 'EASY', late).card;
    // 03:59 the next calendar day is still the same review day; 04:00 is the next one.
    expect(scheduler.retrievability(card, new Date('2026-03-03T03:59:00Z'))).toBe(1);
    expect(scheduler.retrievability(card, new Date('2026-03-03T04:00:00Z'))).toBeLessThan(1);
    expect(dayNumber(new Date('2026-03-03T04:00:00Z'))).toBe(dayNumber(late) + 1);
  });

  it('fuzzes reproducibly: same card, time and seed give the same interval; the seed changes it', () => {
    const scheduler = createScheduler();
    const graduated = createScheduler({ fuzz: false }).review(newCardState(T0), 'EASY', T0).card;
    const later = new Date(T0.getTime() + 30 * DAY);
    const interval = (seed: string) => scheduler.review(graduated, 'GOOD', later, undefined, seed).card.scheduledDays;
    expect(interval('card-1')).toBe(interval('card-1'));
    const exact = createScheduler({ fuzz: false }).review(graduated, 'GOOD', later).card.scheduledDays;
    const range = get_fuzz_range(exact, 30, 36500);
    const seen = new Set(Array.from({ length: 40 }, (_, i) => interval(`card-${i}`)));
    for (const days of seen) {
      expect(days).toBeGreaterThanOrEqual(range.min_ivl);
      expect(days).toBeLessThanOrEqual(range.max_ivl);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('balances a review interval onto the least loaded day of the fuzz range', () => {
    const scheduler = createScheduler();
    const graduated = createScheduler({ fuzz: false }).review(newCardState(T0), 'EASY', T0).card;
    const later = new Date(T0.getTime() + 30 * DAY);
    const exact = createScheduler({ fuzz: false }).review(graduated, 'GOOD', later).card.scheduledDays;
    const { min_ivl, max_ivl } = get_fuzz_range(exact, 30, 36500);
    const today = dayNumber(later);
    const quietDay = today + max_ivl;
    const load = (first: number, last: number) =>
      Array.from({ length: last - first + 1 }, (_, i) => (first + i === quietDay ? 0 : 100));
    const { card } = scheduler.review(graduated, 'GOOD', later, load, 'card-1');
    expect(max_ivl).toBeGreaterThan(min_ivl);
    expect(card.scheduledDays).toBe(max_ivl);
    expect(dayNumber(card.due)).toBe(quietDay);
  });

  it('previews the four outcomes as review would give them', () => {
    const scheduler = createScheduler();
    const graduated = createScheduler({ fuzz: false }).review(newCardState(T0), 'EASY', T0).card;
    const later = new Date(T0.getTime() + 30 * DAY);
    const preview = scheduler.preview(graduated, later, 'card-9');
    for (const rating of ['AGAIN', 'HARD', 'GOOD', 'EASY'] as const) {
      const { card } = scheduler.review(graduated, rating, later, undefined, 'card-9');
      expect(preview[rating]).toEqual({ state: card.state, due: card.due, scheduledDays: card.scheduledDays });
    }
    expect(preview.AGAIN.state).toBe('RELEARNING');
    expect(preview.HARD.scheduledDays).toBeLessThan(preview.GOOD.scheduledDays);
    expect(preview.GOOD.scheduledDays).toBeLessThan(preview.EASY.scheduledDays);
  });

  it('refuses an unknown rating, a review before the last one, and bad options', () => {
    const scheduler = createScheduler();
    const card = scheduler.review(newCardState(T0), 'GOOD', T0).card;
    expect(() => scheduler.review(card, 'PERFECT' as Rating, T0)).toThrow(/Unknown rating "PERFECT"/);
    expect(() => scheduler.review(card, 'GOOD', new Date(T0.getTime() - DAY))).toThrowError(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'now' } }),
    );
    expect(() => createScheduler({ desiredRetention: 1.2 })).toThrow(/between 0.7 and 0.99/);
    expect(() => createScheduler({ params: [1, 2, 3] })).toThrow(/21 finite parameters/);
    expect(() => createScheduler({ learningSteps: ['soon' as '1m'] })).toThrow(/"soon"/);
  });
});
