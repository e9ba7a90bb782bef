/**
 * A learner's deck: the cards of the courses whose material they may study. Cards come from the
 * course's published items and notes (one per cloze deletion); adding them again adds only the new ones.
 */
import { newId } from '@coursegraph/service-kit';
import type { Tx } from './db.js';
import { clozeOrdinals } from '../domain/cloze.js';

/** True when the learner may study the course's material (not only its previews). */
export async function mayStudy(tx: Tx, userId: string, courseId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ ok: boolean }[]>`
    select (e.mode <> 'AUDIT' or c.free) as ok
      from enrolments e join courses c on c.id = e.course_id
     where e.user_id = ${userId}::uuid and e.course_id = ${courseId}::uuid and e.active`;
  return rows[0]?.ok === true;
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
