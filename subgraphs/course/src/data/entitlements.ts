/** The entitlement projection: the consumer writes decisions, resolvers ask who may read paid content. */
import type { Reader, Tx } from './db.js';

/** One decision of enrollment about a learner's access to a course, as an event carried it. */
export interface EntitlementDecision {
  userId: string;
  courseId: string;
  enrollmentId: string;
  /** FREE, PAID or AUDIT while enrolled; REFUNDED or UNENROLLED once revoked. */
  basis: string;
  active: boolean;
  /** The event's position in the ENROLLMENT stream: decisions apply in this order. */
  eventSequence: number;
  decidedAt: Date;
}

/**
 * Records a decision unless a later one (by stream position) is already recorded: the projection
 * converges to the last decision whatever the delivery order or the number of redeliveries.
 * Returns whether it changed anything.
 */
export async function applyDecision(tx: Tx, d: EntitlementDecision): Promise<boolean> {
  const changed = await tx.$executeRaw`
    insert into entitlements (user_id, course_id, enrollment_id, basis, active, event_sequence, decided_at, updated_at)
    values (${d.userId}::uuid, ${d.courseId}::uuid, ${d.enrollmentId}::uuid, ${d.basis}, ${d.active},
            ${d.eventSequence}, ${d.decidedAt}, now())
    on conflict (user_id, course_id) do update
       set enrollment_id = excluded.enrollment_id, basis = excluded.basis, active = excluded.active,
           event_sequence = excluded.event_sequence, decided_at = excluded.decided_at, updated_at = now()
     where entitlements.event_sequence < excluded.event_sequence`;
  return changed > 0;
}

/** Of `courseIds`, those whose paid content `userId` may read now. */
export async function entitledCourses(db: Reader, userId: string, courseIds: readonly string[]): Promise<Set<string>> {
  const rows = await db.entitlement.findMany({
    where: { userId, courseId: { in: [...courseIds] }, active: true },
    select: { courseId: true },
  });
  return new Set(rows.map((r) => r.courseId));
}

/** Clears the projection before a replay rebuilds it. */
export async function clearEntitlements(tx: Tx): Promise<void> {
  await tx.entitlement.deleteMany({});
}
