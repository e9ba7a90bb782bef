/**
 * Graded-quiz attempts learners have open (stream LEARNING): while one is, the tutor must not state
 * the answers of its items. A closed attempt stays as a tombstone (closed_at set, no answers), so a
 * start redelivered after its close cannot open it again.
 */
import { LearningEvents } from '@coursegraph/contracts';
import { on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';

export const attemptHandlers = [
  on(LearningEvents.attemptStarted, async (tx: Tx, e: ReceivedEvent<typeof LearningEvents.attemptStarted>) => {
    const { attemptId, userId, courseId, lessonId } = e.payload;
    requireIds(e.type, { attemptId, userId, courseId, lessonId });
    await tx.openAttempt.createMany({
      data: [
        {
          attemptId,
          userId,
          courseId,
          lessonId,
          protectedAnswers: e.payload.protectedAnswers,
          closesAt: e.payload.closesAt ? new Date(e.payload.closesAt) : null,
          openedAt: new Date(e.payload.startedAt || e.time),
        },
      ],
      skipDuplicates: true,
    });
  }),
  on(LearningEvents.attemptClosed, async (tx: Tx, e: ReceivedEvent<typeof LearningEvents.attemptClosed>) => {
    const { attemptId, userId, courseId, lessonId } = e.payload;
    requireIds(e.type, { attemptId, userId, courseId, lessonId });
    const closedAt = new Date(e.payload.closedAt || e.time);
    await tx.openAttempt.upsert({
      where: { attemptId },
      create: { attemptId, userId, courseId, lessonId, protectedAnswers: [], openedAt: closedAt, closedAt },
      update: { protectedAnswers: [], closedAt },
    });
  }),
];

export async function resetAttempts(tx: Tx): Promise<void> {
  await tx.openAttempt.deleteMany({});
}
