/** Reads of the editable draft: a batch of courses costs four queries, whatever its size. */
import type { Course } from '../generated/prisma/client.js';
import { toTree, type DraftTree, type ModuleContent } from '../domain/content.js';
import type { Reader, Tx } from './db.js';
import { lessonDurations } from './lesson-duration.js';

export async function loadDraftTrees(db: Reader, courseIds: readonly string[]): Promise<Map<string, DraftTree>> {
  const ids = [...courseIds];
  const [courses, modules, lessons, prerequisites] = await Promise.all([
    db.course.findMany({ where: { id: { in: ids } } }),
    db.module.findMany({ where: { courseId: { in: ids } }, orderBy: [{ courseId: 'asc' }, { position: 'asc' }] }),
    db.lesson.findMany({ where: { courseId: { in: ids } }, orderBy: [{ moduleId: 'asc' }, { position: 'asc' }] }),
    db.coursePrerequisite.findMany({ where: { courseId: { in: ids } } }),
  ]);
  const durations = await lessonDurations(db, lessons);
  const moduleContents = modules.map((m): ModuleContent & { courseId: string } => ({
    id: m.id,
    courseId: m.courseId,
    title: m.title,
    summary: m.summary,
    position: m.position,
    lessons: [],
  }));
  const modulesByCourse = groupBy(moduleContents, (m) => m.courseId);
  const moduleById = new Map(moduleContents.map((m) => [m.id, m]));
  for (const l of lessons) {
    moduleById.get(l.moduleId)?.lessons.push({
      id: l.id,
      title: l.title,
      kind: l.kind,
      position: l.position,
      required: l.required,
      durationSeconds: durations.get(l.id) ?? 0,
      body: l.body,
      freePreview: l.freePreview,
    });
  }
  const prerequisitesByCourse = groupBy(prerequisites, (p) => p.courseId);
  const out = new Map<string, DraftTree>();
  for (const c of courses) {
    const tree = toTree({
      courseId: c.id,
      instructorId: c.instructorId,
      slug: c.slug,
      title: c.title,
      summary: c.summary,
      description: c.description,
      category: c.category,
      tags: c.tags,
      level: c.level,
      language: c.language,
      price: { amountMinor: c.priceMinor, currency: c.currency },
      prerequisiteIds: (prerequisitesByCourse.get(c.id) ?? []).map((p) => p.prerequisiteId),
      modules: (modulesByCourse.get(c.id) ?? []).map(({ courseId: _c, ...m }) => m),
    });
    out.set(c.id, { ...tree, updatedAt: c.updatedAt });
  }
  return out;
}

/**
 * Locks a course's row for the rest of the transaction and marks the draft edited. Every draft edit
 * and every publication starts here, so edits of one course are serialised.
 */
export async function touchCourse(tx: Tx, courseId: string): Promise<Course> {
  return tx.course.update({ where: { id: courseId }, data: { updatedAt: new Date() } });
}

/** Locks a course's row without marking an edit (publishing reads the draft under it). */
export async function lockCourse(tx: Tx, courseId: string): Promise<void> {
  await tx.$queryRaw`select id from courses where id = ${courseId}::uuid for update`;
}

export function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}
