/**
 * A lesson's duration moved from lessons.duration_seconds to lessons.estimated_duration_seconds
 * (with a range check), expand → migrate → contract as docs/versioning.md says, while the service
 * kept serving. Each release of that change is a phase of this one binary (COURSE_LESSON_DURATION_PHASE),
 * so `npm run bench:migration` can roll the service from one to the next under load:
 *
 *   old       the release before the change: only duration_seconds (the new column may not exist yet)
 *   expand    writes both columns; reads the new one, or the old where the new is still null
 *   contract  only estimated_duration_seconds (the default: prisma/course's migrations end here)
 *
 * The Prisma schema is the final one, so the old column is read and written here with SQL, and in
 * `old` the client is told never to select the new column.
 */
import type { Reader, Tx } from './db.js';

export const LESSON_DURATION_PHASES = ['old', 'expand', 'contract'] as const;
export type LessonDurationPhase = (typeof LESSON_DURATION_PHASES)[number];

// A process plays one release: set once at start-up (createCourseApp), before the client is made.
let phase: LessonDurationPhase = 'contract';

export function useLessonDurationPhase(value: LessonDurationPhase): void {
  phase = value;
}

/** The Prisma client's global `omit`: before the expand migration the new column does not exist. */
export function lessonDurationOmit(): { lesson: { estimatedDurationSeconds: true } } | undefined {
  return phase === 'old' ? { lesson: { estimatedDurationSeconds: true } } : undefined;
}

/** The Prisma data that stores a duration (nothing in `old`, whose column Prisma no longer knows). */
export function durationData(seconds: number): { estimatedDurationSeconds?: number } {
  return phase === 'old' ? {} : { estimatedDurationSeconds: seconds };
}

/** Writes the old column too, until the contract release (after durationData's create or update). */
export async function writeOldDuration(tx: Tx, lessonId: string, seconds: number): Promise<void> {
  if (phase === 'contract') return;
  await tx.$executeRaw`update lessons set duration_seconds = ${seconds} where id = ${lessonId}::uuid`;
}

/**
 * Each lesson's duration, by id, from rows Prisma read: the new column, falling back to the old one
 * (one query, only when some row has no new value yet).
 */
export async function lessonDurations(
  db: Reader,
  lessons: readonly { id: string; estimatedDurationSeconds?: number | null }[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const missing: string[] = [];
  for (const l of lessons) {
    // In `old` the field is not selected at all; in `expand` it is null until the row is backfilled.
    if (phase !== 'old' && l.estimatedDurationSeconds != null) out.set(l.id, l.estimatedDurationSeconds);
    else if (phase !== 'contract') missing.push(l.id);
  }
  if (missing.length > 0) {
    const rows = await db.$queryRaw<{ id: string; duration_seconds: number }[]>`
      select id::text, duration_seconds from lessons where id = any(${missing}::uuid[])`;
    for (const r of rows) out.set(r.id, r.duration_seconds);
  }
  return out;
}
