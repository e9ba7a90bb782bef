/**
 * The daily cards-due job against a database of its own: one learning.cards.due (and one
 * due_reminders row) per learner with cards to study today within their limits, none for a learner
 * without access to the course or with nothing due, never two on one review day (two replicas
 * running at once included), and a new one on the next day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { LearningEvents } from '@coursegraph/contracts';
import { newId } from '@coursegraph/service-kit';
import { DEFAULT_SETTINGS } from '../../src/domain/reviews.js';
import { cardsDueJob, reviewDay } from '../../src/workers/cards-due.js';
import { days, enrol, seedCourse, silent, startHarness, type WorkersHarness } from './harness.js';

let h: WorkersHarness;
const now = new Date();
const MINUTE = 60_000;

type State = 'NEW' | 'LEARNING' | 'REVIEW';

/** Cards of one state and due date in the learner's deck. */
async function addCards(
  userId: string,
  courseId: string,
  count: number,
  state: State,
  due: Date,
  extra: { suspended?: boolean } = {},
) {
  const base = await h.db.card.count({ where: { userId } });
  await h.db.card.createMany({
    data: Array.from({ length: count }, (_, i) => ({
      id: newId(),
      userId,
      courseId,
      source: 'NOTE' as const,
      sourceId: newId(),
      position: base + i,
      state,
      due,
      ...(state === 'NEW' ? {} : { stability: 3, difficulty: 5, reps: 2, lastReview: days(due, -3) }),
      ...extra,
    })),
  });
}

/** The learning.cards.due events in the outbox, decoded. */
async function cardsDueEvents() {
  const rows = await h.db.outboxEvent.findMany({
    where: { subject: LearningEvents.cardsDue.subject },
    orderBy: { id: 'asc' },
  });
  return rows.map((r) => fromBinary(LearningEvents.cardsDue.schema, r.payload));
}

const learners: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness('cards_due');
  const paid = await seedCourse(h.db);
  const free = await seedCourse(h.db, { free: true });
  for (const name of ['studying', 'limited', 'auditFree', 'auditPaid', 'later', 'left']) learners[name] = newId();

  // Paid access: 3 reviews due (1 more suspended), 1 learning step due, 25 new cards, 1 review next week.
  await enrol(h.db, learners.studying!, paid);
  await addCards(learners.studying!, paid, 3, 'REVIEW', days(now, -1));
  await addCards(learners.studying!, paid, 1, 'REVIEW', days(now, -1), { suspended: true });
  await addCards(learners.studying!, paid, 1, 'LEARNING', new Date(now.getTime() - MINUTE));
  await addCards(learners.studying!, paid, 25, 'NEW', days(now, -2));
  await addCards(learners.studying!, paid, 1, 'REVIEW', days(now, 7));
  // Limits of their own: one review a day, no new cards.
  await enrol(h.db, learners.limited!, paid);
  await h.db.learnerSettings.create({
    data: { userId: learners.limited!, ...DEFAULT_SETTINGS, reviewsPerDay: 1, newPerDay: 0 },
  });
  await addCards(learners.limited!, paid, 3, 'REVIEW', days(now, -1));
  await addCards(learners.limited!, paid, 5, 'NEW', days(now, -2));
  // An audit of a free course reaches its material; of a paid course it does not.
  await enrol(h.db, learners.auditFree!, free, { mode: 'AUDIT' });
  await addCards(learners.auditFree!, free, 2, 'REVIEW', days(now, -1));
  await enrol(h.db, learners.auditPaid!, paid, { mode: 'AUDIT' });
  await addCards(learners.auditPaid!, paid, 4, 'REVIEW', days(now, -1));
  // Nothing due before next week.
  await enrol(h.db, learners.later!, paid);
  await addCards(learners.later!, paid, 2, 'REVIEW', days(now, 7));
  // Enrolment revoked.
  await enrol(h.db, learners.left!, paid, { active: false });
  await addCards(learners.left!, paid, 2, 'REVIEW', days(now, -1));
});

afterAll(async () => {
  await h?.close();
});

describe('the cards-due job', () => {
  it('tells each learner with cards today once, with counts within their limits, even with two replicas at once', async () => {
    // Two replicas, two learners per run each: several runs reach everyone.
    const replicas = [cardsDueJob(h.db, { batch: 2, logger: silent }), cardsDueJob(h.db, { batch: 2, logger: silent })];
    for (let run = 0; run < 5; run++) await Promise.all(replicas.map((job) => job.run(now)));

    const day = reviewDay(now);
    const events = await cardsDueEvents();
    const byUser = (userId: string) => events.filter((e) => e.userId === userId);
    expect(byUser(learners.studying!)).toEqual([
      expect.objectContaining({ dueCount: 3 + 1, newCount: DEFAULT_SETTINGS.newPerDay, day }),
    ]);
    expect(byUser(learners.limited!)).toEqual([expect.objectContaining({ dueCount: 1, newCount: 0, day })]);
    expect(byUser(learners.auditFree!)).toEqual([expect.objectContaining({ dueCount: 2, newCount: 0, day })]);
    for (const name of ['auditPaid', 'later', 'left']) expect(byUser(learners[name]!)).toEqual([]);
    expect(events).toHaveLength(3);
    const reminders = await h.db.dueReminder.findMany();
    expect(reminders.map((r) => r.userId).sort()).toEqual(
      [learners.studying!, learners.limited!, learners.auditFree!].sort(),
    );
    expect(new Set(reminders.map((r) => r.day))).toEqual(new Set([day]));
  });

  it('writes nothing more on the same review day, and one event per learner on the next', async () => {
    const job = cardsDueJob(h.db, { batch: 100, logger: silent });
    expect(await job.run(new Date(now.getTime() + MINUTE))).toBe(0);
    expect(await cardsDueEvents()).toHaveLength(3);

    const tomorrow = days(now, 1);
    expect(await job.run(tomorrow)).toBe(3);
    expect(await job.run(tomorrow)).toBe(0);
    const next = (await cardsDueEvents()).filter((e) => e.day === reviewDay(tomorrow));
    expect(next.map((e) => e.userId).sort()).toEqual(
      [learners.studying!, learners.limited!, learners.auditFree!].sort(),
    );
    expect(reviewDay(tomorrow)).not.toBe(reviewDay(now));
  });
});
