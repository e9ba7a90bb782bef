/**
 * Graded-quiz attempts (stream LEARNING). While one is open the tutor must not state the answers of
 * its items; a closed attempt stays as a tombstone (closed_at set, no answers), so a start
 * redelivered after its close cannot open it again. Failed attempts are kept too: how much a learner
 * struggles lately is part of what routing weighs.
 */
import { LearningEvents } from '@coursegraph/contracts';
import { on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';

/** A graded attempt that did not pass counts toward the learner's recent failures. */
const quizGraded = on(LearningEvents.quizGraded, async (tx: Tx, e: ReceivedEvent<typeof LearningEvents.quizGraded>) => {
  const { attemptId, userId, courseId, lessonId, passed } = e.payload;
  requireIds(e.type, { attemptId, userId, courseId, lessonId });
  if (passed) return;
  await tx.quizFailure.createMany({
    data: [{ attemptId, userId, courseId, lessonId, failedAt: new Date(e.payload.gradedAt || e.time) }],
    skipDuplicates: true,
  });
});

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
  quizGraded,
];

export async function resetAttempts(tx: Tx): Promise<void> {
  await tx.openAttempt.deleteMany({});
  await tx.quizFailure.deleteMany({});
}
