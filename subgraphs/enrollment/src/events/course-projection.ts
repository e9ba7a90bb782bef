/**
 * Enrollment's projection of published courses, from course events: what enrolling and completing
 * need (free or paid, prerequisites, which lessons are required). Applied only when newer, so
 * redelivered or replayed events never move it backwards.
 */
import { CourseEvents, type course } from '@coursegraph/contracts';
import { on, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';

export async function applySnapshot(tx: Tx, snapshot: course.CourseSnapshot): Promise<void> {
  const lessons = [...snapshot.lessons].sort((a, b) => a.position - b.position);
  const required = lessons.filter((l) => l.required).map((l) => l.lessonId);
  const data = {
    version: snapshot.version,
    title: snapshot.title,
    state: 'PUBLISHED' as const,
    isFree: (snapshot.price?.amountMinor ?? 0n) === 0n,
    prerequisiteCourseIds: snapshot.prerequisiteCourseIds,
    lessonIds: lessons.map((l) => l.lessonId),
    // A course that marks no lesson as required needs all of them.
    requiredLessonIds: required.length > 0 ? required : lessons.map((l) => l.lessonId),
  };
  const current = await tx.courseProjection.findUnique({
    where: { courseId: snapshot.courseId },
    select: { version: true },
  });
  if (!current) await tx.courseProjection.create({ data: { courseId: snapshot.courseId, ...data } });
  else if (current.version < snapshot.version)
    await tx.courseProjection.update({ where: { courseId: snapshot.courseId }, data });
}

export const courseProjectionHandlers = [
  on(CourseEvents.published, (tx: Tx, e: ReceivedEvent<typeof CourseEvents.published>) =>
    applySnapshot(tx, e.payload.course!),
  ),
  on(CourseEvents.updated, (tx: Tx, e: ReceivedEvent<typeof CourseEvents.updated>) =>
    applySnapshot(tx, e.payload.course!),
  ),
  on(CourseEvents.archived, async (tx: Tx, e: ReceivedEvent<typeof CourseEvents.archived>) => {
    await tx.courseProjection.updateMany({ where: { courseId: e.payload.courseId }, data: { state: 'ARCHIVED' } });
  }),
];

/** Clears the projection before a replay rebuilds it. */
export async function resetCourseProjection(tx: Tx): Promise<void> {
  await tx.courseProjection.deleteMany({});
}
