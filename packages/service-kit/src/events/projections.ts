/**
 * Pieces every context's projections of other contexts share: checking an event's ids, and applying
 * enrollment's decisions to the context's own `enrolments` table (the same columns in learning and
 * ai: user_id, course_id, mode, active, event_sequence, updated_at).
 */
import { isUuid } from '../ids.js';
import type { SqlExecutor } from './types.js';

/** An event whose ids are not ids is a producer's bug: fail it, so it is retried and then dead-lettered, visibly. */
export function requireIds(type: string, ids: Record<string, string>): void {
  const bad = Object.entries(ids)
    .filter(([, value]) => !isUuid(value))
    .map(([name]) => name);
  if (bad.length > 0) throw new Error(`${type} without a valid ${bad.join(', ')}`);
}

export interface EnrolmentDecision {
  userId: string;
  courseId: string;
  /** FREE, AUDIT or PAID; null keeps the mode already known (a revocation), AUDIT for a new row. */
  mode: string | null;
  active: boolean;
  /** The event's stream sequence: decisions apply in stream order, so a late one never undoes a newer one. */
  sequence: number;
}

/** Applies one of enrollment's decisions; false when a newer one was already applied. */
export async function applyEnrolmentDecision(tx: SqlExecutor, d: EnrolmentDecision): Promise<boolean> {
  const changed = await tx.$executeRawUnsafe(
    `insert into enrolments (user_id, course_id, mode, active, event_sequence, updated_at)
     values ($1::uuid, $2::uuid, coalesce($3, 'AUDIT'), $4, $5, now())
     on conflict (user_id, course_id) do update
        set mode = coalesce($3, enrolments.mode), active = excluded.active,
            event_sequence = excluded.event_sequence, updated_at = now()
      where enrolments.event_sequence < excluded.event_sequence`,
    d.userId,
    d.courseId,
    d.mode,
    d.active,
    d.sequence,
  );
  return changed > 0;
}
