/**
 * AI's view of enrollment (stream ENROLLMENT): who may use a course's tutor. Decisions apply in
 * stream order, so a redelivered or late event never undoes a newer one.
 */
import { EnrollmentEvents, enrollment as pb } from '@coursegraph/contracts';
import { applyEnrolmentDecision, on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';

const MODES: Record<pb.EnrollmentMode, string | null> = {
  [pb.EnrollmentMode.UNSPECIFIED]: null,
  [pb.EnrollmentMode.FREE]: 'FREE',
  [pb.EnrollmentMode.AUDIT]: 'AUDIT',
  [pb.EnrollmentMode.PAID]: 'PAID',
};

export const enrolmentHandlers = [
  on(EnrollmentEvents.created, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.created>) => {
    const { enrollmentId, userId, courseId } = e.payload;
    requireIds(e.type, { enrollmentId, userId, courseId });
    const mode = MODES[e.payload.mode];
    if (!mode) throw new Error(`${e.type} with an unknown mode ${e.payload.mode}`);
    await applyEnrolmentDecision(tx, { userId, courseId, mode, active: true, sequence: e.streamSequence });
  }),
  on(EnrollmentEvents.revoked, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.revoked>) => {
    const { enrollmentId, userId, courseId } = e.payload;
    requireIds(e.type, { enrollmentId, userId, courseId });
    await applyEnrolmentDecision(tx, { userId, courseId, mode: null, active: false, sequence: e.streamSequence });
  }),
];

export async function resetEnrolments(tx: Tx): Promise<void> {
  await tx.enrolment.deleteMany({});
}
