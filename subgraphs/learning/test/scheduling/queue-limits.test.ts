import { describe, expect, it } from 'vitest';
import {
  buryUntil,
  compareQueueCards,
  dueQueuePlan,
  isInQueue,
  siblingsToBury,
  type QueueCard,
} from '../../src/domain/scheduling/queue-limits.js';

describe('queue limits', () => {
  it('defaults to 20 new and 200 reviews a day, minus what was done today', () => {
    expect(dueQueuePlan({ newIntroducedToday: 0, reviewsDoneToday: 0 })).toEqual({ newLimit: 20, reviewLimit: 200 });
    expect(dueQueuePlan({ newIntroducedToday: 5, reviewsDoneToday: 50 })).toEqual({ newLimit: 15, reviewLimit: 150 });
    expect(dueQueuePlan({ newIntroducedToday: 30, reviewsDoneToday: 250 })).toEqual({ newLimit: 0, reviewLimit: 0 });
  });

  it('caps new cards by what is left of the review limit', () => {
    expect(dueQueuePlan({ newPerDay: 20, reviewsPerDay: 100, newIntroducedToday: 0, reviewsDoneToday: 95 })).toEqual({
      newLimit: 5,
      reviewLimit: 5,
    });
  });

  it('refuses negative or fractional counts', () => {
    expect(() => dueQueuePlan({ newPerDay: -1, newIntroducedToday: 0, reviewsDoneToday: 0 })).toThrow(
      /newPerDay is -1/,
    );
    expect(() => dueQueuePlan({ newIntroducedToday: 0.5, reviewsDoneToday: 0 })).toThrow(/newIntroducedToday/);
  });

  it('orders learning first by due, then reviews by due, then new by position', () => {
    const at = (iso: string) => new Date(iso);
    const cards: QueueCard[] = [
      { id: 'n2', state: 'NEW', due: at('2026-01-01T00:00:00Z'), position: 2 },
      { id: 'r2', state: 'REVIEW', due: at('2026-03-02T05:00:00Z'), position: 0 },
      { id: 'l2', state: 'RELEARNING', due: at('2026-03-02T09:10:00Z'), position: 0 },
      { id: 'n1', state: 'NEW', due: at('2026-03-01T00:00:00Z'), position: 1 },
      { id: 'r1', state: 'REVIEW', due: at('2026-02-27T05:00:00Z'), position: 0 },
      { id: 'l1', state: 'LEARNING', due: at('2026-03-02T09:01:00Z'), position: 0 },
    ];
    expect(cards.sort(compareQueueCards).map((c) => c.id)).toEqual(['l1', 'l2', 'r1', 'r2', 'n1', 'n2']);
  });

  it('queues review cards from the start of their due day and learning cards from their due moment', () => {
    const now = new Date('2026-03-02T08:00:00Z');
    expect(isInQueue({ state: 'REVIEW', due: new Date('2026-03-02T23:00:00Z') }, now)).toBe(true);
    expect(isInQueue({ state: 'REVIEW', due: new Date('2026-03-03T05:00:00Z') }, now)).toBe(false);
    expect(isInQueue({ state: 'LEARNING', due: new Date('2026-03-02T08:10:00Z') }, now)).toBe(false);
    expect(isInQueue({ state: 'LEARNING', due: new Date('2026-03-02T07:59:00Z') }, now)).toBe(true);
  });

  it('buries until the next 04:00 UTC review day start', () => {
    expect(buryUntil(new Date('2026-03-02T08:00:00Z'))).toEqual(new Date('2026-03-03T04:00:00Z'));
    expect(buryUntil(new Date('2026-03-03T02:00:00Z'))).toEqual(new Date('2026-03-03T04:00:00Z'));
    expect(buryUntil(new Date('2026-03-02T08:00:00Z'), 0)).toEqual(new Date('2026-03-03T00:00:00Z'));
  });

  it('buries new and review siblings of the reviewed card, not itself, other notes or learning siblings', () => {
    const cards = [
      { id: 'a', noteId: 'n1', state: 'REVIEW' as const },
      { id: 'b', noteId: 'n1', state: 'NEW' as const },
      { id: 'c', noteId: 'n1', state: 'REVIEW' as const },
      { id: 'd', noteId: 'n1', state: 'LEARNING' as const },
      { id: 'e', noteId: 'n2', state: 'NEW' as const },
    ];
    expect(siblingsToBury({ id: 'a', noteId: 'n1' }, cards)).toEqual(['b', 'c']);
  });
});
