/**
 * The catalog: published courses from their denormalised rows, filtered, sorted and paged by keyset
 * (a page is two queries whatever its size: the rows and the total count).
 */
import { badInput, decodeCursor, encodeCursor, isUuid } from '@coursegraph/service-kit';
import type { CourseLevel, Prisma, PublishedCourse } from '../generated/prisma/client.js';
import type { Reader } from './db.js';

export type CatalogSort = 'NEWEST' | 'TITLE' | 'PRICE_ASC' | 'PRICE_DESC';

export interface CatalogQuery {
  category?: string;
  level?: CourseLevel;
  language?: string;
  isFree?: boolean;
  instructorId?: string;
  tag?: string;
}

type SortValue = string | number;

const SORTS: Record<CatalogSort, {
  orderBy: Prisma.PublishedCourseOrderByWithRelationInput[];
  value: (row: PublishedCourse) => SortValue;
  /** Rows strictly after (value, id) in this order. */
  after: (value: SortValue, id: string) => Prisma.PublishedCourseWhereInput;
  valueType: 'string' | 'number' | 'date';
}> = {
  NEWEST: {
    orderBy: [{ firstPublishedAt: 'desc' }, { courseId: 'desc' }],
    value: (r) => r.firstPublishedAt.toISOString(),
    after: (v, id) => ({ OR: [{ firstPublishedAt: { lt: new Date(v) } }, { firstPublishedAt: new Date(v), courseId: { lt: id } }] }),
    valueType: 'date',
  },
  TITLE: {
    orderBy: [{ title: 'asc' }, { courseId: 'asc' }],
    value: (r) => r.title,
    after: (v, id) => ({ OR: [{ title: { gt: String(v) } }, { title: String(v), courseId: { gt: id } }] }),
    valueType: 'string',
  },
  PRICE_ASC: {
    orderBy: [{ priceMinor: 'asc' }, { courseId: 'asc' }],
    value: (r) => r.priceMinor,
    after: (v, id) => ({ OR: [{ priceMinor: { gt: Number(v) } }, { priceMinor: Number(v), courseId: { gt: id } }] }),
    valueType: 'number',
  },
  PRICE_DESC: {
    orderBy: [{ priceMinor: 'desc' }, { courseId: 'desc' }],
    value: (r) => r.priceMinor,
    after: (v, id) => ({ OR: [{ priceMinor: { lt: Number(v) } }, { priceMinor: Number(v), courseId: { lt: id } }] }),
    valueType: 'number',
  },
};

/** A cursor names the sort it belongs to, so one from another ordering is refused, not misread. */
export function catalogCursor(sort: CatalogSort, row: PublishedCourse): string {
  return encodeCursor(JSON.stringify([sort, SORTS[sort].value(row), row.courseId]));
}

function parseCursor(sort: CatalogSort, after: string | null | undefined): { value: SortValue; id: string } | null {
  const raw = decodeCursor(after);
  if (raw === null) return null;
  const wrong = () => badInput('"after" is not a cursor from this list and sort order.', 'after');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw wrong();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== sort || typeof parsed[2] !== 'string' || !isUuid(parsed[2])) throw wrong();
  const value = parsed[1] as unknown;
  const type = SORTS[sort].valueType;
  const ok =
    (type === 'number' && Number.isInteger(value)) ||
    (type === 'string' && typeof value === 'string') ||
    (type === 'date' && typeof value === 'string' && !Number.isNaN(Date.parse(value)));
  if (!ok) throw wrong();
  return { value: value as SortValue, id: parsed[2] };
}

function whereOf(q: CatalogQuery): Prisma.PublishedCourseWhereInput {
  return {
    archivedAt: null,
    ...(q.category !== undefined ? { category: q.category } : {}),
    ...(q.level !== undefined ? { level: q.level } : {}),
    ...(q.language !== undefined ? { language: q.language } : {}),
    ...(q.isFree === true ? { priceMinor: 0 } : q.isFree === false ? { priceMinor: { gt: 0 } } : {}),
    ...(q.instructorId !== undefined ? { instructorId: q.instructorId } : {}),
    ...(q.tag !== undefined ? { tags: { has: q.tag } } : {}),
  };
}

export async function listCatalog(db: Reader, q: CatalogQuery, sort: CatalogSort, take: number, after: string | null | undefined) {
  const cursor = parseCursor(sort, after);
  const where = whereOf(q);
  const spec = SORTS[sort];
  const [rows, totalCount] = await Promise.all([
    db.publishedCourse.findMany({ where: cursor ? { AND: [where, spec.after(cursor.value, cursor.id)] } : where, orderBy: spec.orderBy, take: take + 1 }),
    db.publishedCourse.count({ where }),
  ]);
  return { rows: rows.slice(0, take), hasNextPage: rows.length > take, totalCount };
}

export type OwnStatus = 'DRAFT' | 'PUBLISHED' | 'ARCHIVED';

/** An instructor's own courses, newest created first (ids are UUID v7: id order is creation order). */
export async function listOwnCourses(db: Reader, instructorId: string, status: OwnStatus | undefined, take: number, beforeId: string | null) {
  const byStatus: Prisma.CourseWhereInput =
    status === 'DRAFT' ? { published: { is: null } }
    : status === 'PUBLISHED' ? { published: { is: { archivedAt: null } } }
    : status === 'ARCHIVED' ? { published: { is: { archivedAt: { not: null } } } }
    : {};
  const where: Prisma.CourseWhereInput = { instructorId, ...byStatus };
  const [rows, totalCount] = await Promise.all([
    db.course.findMany({ where: beforeId ? { AND: [where, { id: { lt: beforeId } }] } : where, include: { published: true }, orderBy: { id: 'desc' }, take: take + 1 }),
    db.course.count({ where }),
  ]);
  return { rows: rows.slice(0, take), hasNextPage: rows.length > take, totalCount };
}

/** Published (listed) courses per category, one grouped query. */
export async function countByCategory(db: Reader): Promise<Map<string, number>> {
  const groups = await db.publishedCourse.groupBy({ by: ['category'], where: { archivedAt: null }, _count: { _all: true } });
  return new Map(groups.map((g) => [g.category, g._count._all]));
}
