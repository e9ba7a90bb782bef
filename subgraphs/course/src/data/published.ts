/** The published side: immutable versions, the catalog row of each course, and their indexes. */
import type { SqlReads } from '@coursegraph/service-kit';
import type { PublishedCourse } from '../generated/prisma/client.js';
import { toTree, type CourseContent, type CourseTree } from '../domain/content.js';
import type { Reader, Tx } from './db.js';
import * as hot from './hot-reads.js';

/** The latest published version of each course, one query for the batch. */
export async function loadPublishedTrees(
  db: Reader,
  sql: SqlReads | null,
  courseIds: readonly string[],
): Promise<Map<string, CourseTree>> {
  const rows = sql
    ? await hot.publishedSnapshots(sql, courseIds)
    : await db.$queryRaw<{ course_id: string; snapshot: unknown }[]>`
    select v.course_id, v.snapshot
      from published_courses p
      join course_versions v on v.course_id = p.course_id and v.version = p.version
     where p.course_id = any(${[...courseIds]}::uuid[])`;
  return new Map(rows.map((r) => [r.course_id, toTree(parseSnapshot(r.snapshot))]));
}

/**
 * The course a slug names: the published slug is what learners follow; a draft's new slug finds it
 * for its managers (one statement in SQL, up to two through Prisma).
 */
export async function courseIdBySlug(db: Reader, sql: SqlReads | null, slug: string): Promise<string | null> {
  if (sql) return hot.courseIdBySlug(sql, slug);
  const published = await db.publishedCourse.findUnique({ where: { slug }, select: { courseId: true } });
  return published?.courseId ?? (await db.course.findUnique({ where: { slug }, select: { id: true } }))?.id ?? null;
}

export async function loadVersion(db: Reader, courseId: string, version: number): Promise<CourseContent | null> {
  const row = await db.courseVersion.findUnique({ where: { courseId_version: { courseId, version } } });
  return row ? parseSnapshot(row.snapshot) : null;
}

function parseSnapshot(raw: unknown): CourseContent {
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as CourseContent;
}

/** Which published course holds each module or lesson id. */
export async function findPublishedItems(db: Reader, itemIds: readonly string[]) {
  return db.publishedItem.findMany({ where: { itemId: { in: [...itemIds] } } });
}

export interface PublicationWrite {
  tree: CourseTree;
  version: number;
  publishedAt: Date;
  publishedBy: string;
  previous: PublishedCourse | null;
}

/** Everything a publication writes, except the outbox (the caller's transaction adds that). */
export async function writePublication(tx: Tx, w: PublicationWrite): Promise<PublishedCourse> {
  const c = w.tree.content;
  await tx.courseVersion.create({
    data: {
      courseId: c.courseId,
      version: w.version,
      snapshot: c as object,
      publishedAt: w.publishedAt,
      publishedBy: w.publishedBy,
    },
  });
  const columns = {
    version: w.version,
    instructorId: c.instructorId,
    slug: c.slug,
    title: c.title,
    summary: c.summary,
    category: c.category,
    tags: c.tags,
    level: c.level,
    language: c.language,
    priceMinor: c.price.amountMinor,
    currency: c.price.currency,
    moduleCount: w.tree.modules.length,
    lessonCount: w.tree.lessonCount,
    publishedAt: w.publishedAt,
    archivedAt: null,
  };
  const row = await tx.publishedCourse.upsert({
    where: { courseId: c.courseId },
    create: { courseId: c.courseId, firstPublishedAt: w.publishedAt, ...columns },
    update: columns,
  });
  await tx.publishedPrerequisite.deleteMany({ where: { courseId: c.courseId } });
  if (c.prerequisiteIds.length > 0) {
    await tx.publishedPrerequisite.createMany({
      data: c.prerequisiteIds.map((prerequisiteId) => ({ courseId: c.courseId, prerequisiteId })),
    });
  }
  await tx.publishedItem.deleteMany({ where: { courseId: c.courseId } });
  const items = w.tree.modules.flatMap((m) => [
    { itemId: m.id, courseId: c.courseId, isLesson: false },
    ...m.lessons.map((l) => ({ itemId: l.id, courseId: c.courseId, isLesson: true })),
  ]);
  if (items.length > 0) await tx.publishedItem.createMany({ data: items });
  // The slug learners knew is released once another is published (the draft, whose slug is now
  // published, no longer holds it).
  if (w.previous && w.previous.slug !== c.slug) {
    await tx.courseSlug.deleteMany({ where: { slug: w.previous.slug, courseId: c.courseId } });
  }
  return row;
}
