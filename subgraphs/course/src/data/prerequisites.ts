/** The prerequisite graph: draft edges and published edges, checked together for cycles. */
import type { Tx } from './db.js';

/** Held until the transaction ends; every prerequisite edit takes it. */
export async function lockPrerequisiteGraph(tx: Tx): Promise<void> {
  await tx.$queryRaw`select pg_advisory_xact_lock(hashtext('course.prerequisites'))::text`;
}

/**
 * Would making `courseId` require `candidates` close a cycle? Walks from each candidate along
 * every draft and published edge (one recursive query) and returns a candidate that leads back
 * to the course, or null. The course's own current edges are not followed: they are being replaced.
 */
export async function findPrerequisiteCycle(
  tx: Tx,
  courseId: string,
  candidates: readonly string[],
): Promise<string | null> {
  if (candidates.length === 0) return null;
  const rows = await tx.$queryRaw<{ origin: string }[]>`
    with recursive edges as (
      select course_id, prerequisite_id from course_prerequisites
      union all
      select course_id, prerequisite_id from published_prerequisites
    ), reach(origin, id) as (
      select c, c from unnest(${[...candidates]}::uuid[]) as c
      union
      select r.origin, e.prerequisite_id from reach r join edges e on e.course_id = r.id where r.id <> ${courseId}::uuid
    )
    select origin::text from reach where id = ${courseId}::uuid limit 1`;
  return rows[0]?.origin ?? null;
}
