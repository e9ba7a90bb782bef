/**
 * Learning's view of enrollment (stream ENROLLMENT): who may take a course's quizzes and review
 * its cards, and which lessons they completed. Decisions apply in stream order, so a redelivered or late event never undoes
 * a newer one. An enrolment that grants the course's material also fills the learner's deck.
 */
import { EnrollmentEvents, enrollment as pb } from '@coursegraph/contracts';
import { applyEnrolmentDecision, on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { addCourseCards } from '../data/deck.js';

const MODES: Record<pb.EnrollmentMode, string | null> = {
  [pb.EnrollmentMode.UNSPECIFIED]: null,
  [pb.EnrollmentMode.FREE]: 'FREE',
  [pb.EnrollmentMode.AUDIT]: 'AUDIT',
  [pb.EnrollmentMode.PAID]: 'PAID',
};

/** Lessons learners completed, for the next best activity (enrollment owns progress). */
const lessonCompleted = on(
  EnrollmentEvents.lessonCompleted,
  async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.lessonCompleted>) => {
    const { userId, courseId, lessonId } = e.payload;
    requireIds(e.type, { userId, courseId, lessonId });
    await tx.lessonCompletion.createMany({
      data: [{ userId, courseId, lessonId, completedAt: new Date(e.payload.completedAt || e.time) }],
      skipDuplicates: true,
    });
  },
);

export const enrolmentHandlers = [
  lessonCompleted,
  on(EnrollmentEvents.created, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.created>) => {
    const { enrollmentId, userId, courseId } = e.payload;
    requireIds(e.type, { enrollmentId, userId, courseId });
    const mode = MODES[e.payload.mode];
    if (!mode) throw new Error(`${e.type} with an unknown mode ${e.payload.mode}`);
    const changed = await applyEnrolmentDecision(tx, {
      userId,
      courseId,
      mode,
      active: true,
      sequence: e.streamSequence,
    });
    if (changed) await addCourseCards(tx, userId, courseId, new Date(e.time));
  }),
  on(EnrollmentEvents.revoked, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.revoked>) => {
    const { enrollmentId, userId, courseId } = e.payload;
    requireIds(e.type, { enrollmentId, userId, courseId });
    // The mode is kept as it was; the learner's cards stay (their history is theirs) but leave the queue.
    await applyEnrolmentDecision(tx, { userId, courseId, mode: null, active: false, sequence: e.streamSequence });
  }),
];

export async function resetEnrolments(tx: Tx): Promise<void> {
  await tx.enrolment.deleteMany({});
  await tx.lessonCompletion.deleteMany({});
}
