/**
 * Course's projection of enrollment's decisions (stream ENROLLMENT): who holds an entitlement to a
 * course's paid content. FREE and PAID enrolments grant it; AUDIT does not (an audit of a paid
 * course is the outline, the previews and progress, not the course); a revocation (refund or
 * unenrolment) ends it as soon as it is applied.
 */
import { EnrollmentEvents, enrollment as pb } from '@coursegraph/contracts';
import { on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { applyDecision, clearEntitlements } from '../data/entitlements.js';

const BASIS: Record<pb.EnrollmentMode, string | null> = {
  [pb.EnrollmentMode.UNSPECIFIED]: null,
  [pb.EnrollmentMode.FREE]: 'FREE',
  [pb.EnrollmentMode.AUDIT]: 'AUDIT',
  [pb.EnrollmentMode.PAID]: 'PAID',
};

export const entitlementHandlers = [
  on(EnrollmentEvents.created, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.created>) => {
    const { enrollmentId, userId, courseId, mode } = e.payload;
    requireIds(e.type, { enrollmentId, userId, courseId });
    const basis = BASIS[mode];
    if (!basis) throw new Error(`${e.type} with an unknown mode ${mode}`);
    await applyDecision(tx, {
      userId,
      courseId,
      enrollmentId,
      basis,
      active: basis !== 'AUDIT',
      eventSequence: e.streamSequence,
      decidedAt: new Date(e.time),
    });
  }),
  on(EnrollmentEvents.revoked, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.revoked>) => {
    const { enrollmentId, userId, courseId, reason } = e.payload;
    requireIds(e.type, { enrollmentId, userId, courseId });
    await applyDecision(tx, {
      userId,
      courseId,
      enrollmentId,
      basis: reason || 'REVOKED',
      active: false,
      eventSequence: e.streamSequence,
      decidedAt: new Date(e.time),
    });
  }),
];

export const resetEntitlements = clearEntitlements;
