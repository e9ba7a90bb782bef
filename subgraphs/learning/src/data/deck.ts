/**
 * A learner's deck: the cards of the courses whose material they may study. Cards come from the
 * course's published items and notes (one per cloze deletion); adding them again adds only the new ones.
 */
import { newId } from '@coursegraph/service-kit';
import { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from './db.js';
import { clozeOrdinals } from '../domain/cloze.js';

/**
 * The one rule for "may study the material" (quiz items, cards), as SQL over an enrolment `e` and
 * its course `c`: any mode on a free course, FREE or PAID on a paid one (an AUDIT reaches only the
 * free previews). Queries that list or count by it join `enrolments e` and `courses c`.
 */
export const GRANTS_MATERIAL = Prisma.sql`(e.mode <> 'AUDIT' or c.free)`;

/** The courses `userId` may study (an active enrolment that GRANTS_MATERIAL), or just `courseId` when given. */
export async function studyableCourses(db: Tx | PrismaClient, userId: string, courseId?: string): Promise<string[]> {
  const only = courseId ? Prisma.sql`and e.course_id = ${courseId}::uuid` : Prisma.empty;
  const rows = await db.$queryRaw<{ course_id: string }[]>`
    select e.course_id from enrolments e join courses c on c.id = e.course_id
     where e.user_id = ${userId}::uuid and e.active and ${GRANTS_MATERIAL} ${only}`;
  return rows.map((r) => r.course_id);
}

/** True when the learner may study the course's material (not only its previews). */
export async function mayStudy(db: Tx | PrismaClient, userId: string, courseId: string): Promise<boolean> {
  return (await studyableCourses(db, userId, courseId)).length > 0;
}

/** Adds the course's published cards the learner does not have yet; returns how many were added. */
export async function addCourseCards(tx: Tx, userId: string, courseId: string, now: Date): Promise<number> {
  if (!(await mayStudy(tx, userId, courseId))) return 0;
  const course = await tx.course.findUnique({ where: { id: courseId } });
  if (!course || course.publishedVersion === 0) return 0;
  const version = course.publishedVersion;
  const [items, notes] = await Promise.all([
    tx.publishedItem.findMany({ where: { courseId, version }, select: { itemId: true }, orderBy: { itemId: 'asc' } }),
    tx.publishedNote.findMany({ where: { courseId, version }, orderBy: { noteId: 'asc' } }),
  ]);
  const sources = [
    ...items.map((i) => ({ source: 'ITEM' as const, sourceId: i.itemId, ordinal: 0 })),
    ...notes.flatMap((n) =>
      n.kind === 'CLOZE'
        ? clozeOrdinals(n.text).map((ordinal) => ({ source: 'NOTE' as const, sourceId: n.noteId, ordinal }))
        : [{ source: 'NOTE' as const, sourceId: n.noteId, ordinal: 0 }],
    ),
  ];
  if (sources.length === 0) return 0;
  const last = await tx.card.aggregate({ where: { userId }, _max: { position: true } });
  let position = (last._max.position ?? 0) + 1;
  const result = await tx.card.createMany({
    data: sources.map((s) => ({ id: newId(), userId, courseId, ...s, position: position++, due: now })),
    skipDuplicates: true,
  });
  return result.count;
}
