/**
 * The catalog: published courses from their denormalised rows, filtered, sorted and paged by keyset
 * (a page is two queries whatever its size: the rows and the total count).
 */
import DataLoader from 'dataloader';
import { badInput, decodeCursor, encodeCursor, isUuid, type SqlReads } from '@coursegraph/service-kit';
import type { CourseLevel, Prisma, PublishedCourse } from '../generated/prisma/client.js';
import type { Reader } from './db.js';
import * as hot from './hot-reads.js';

export type CatalogSort = 'NEWEST' | 'TITLE' | 'PRICE_ASC' | 'PRICE_DESC' | 'POPULAR';
/** The sorts by a column of the catalog row (POPULAR counts enrolments, see popularPage). */
type ColumnSort = Exclude<CatalogSort, 'POPULAR'>;

export interface CatalogQuery {
  category?: string;
  level?: CourseLevel;
  language?: string;
  isFree?: boolean;
  instructorId?: string;
  tag?: string;
}

type SortValue = string | number;

const SORTS: Record<
  ColumnSort,
  {
    orderBy: Prisma.PublishedCourseOrderByWithRelationInput[];
    value: (row: PublishedCourse) => SortValue;
    /** Rows strictly after (value, id) in this order. */
    after: (value: SortValue, id: string) => Prisma.PublishedCourseWhereInput;
    valueType: 'string' | 'number' | 'date';
  }
> = {
  NEWEST: {
    orderBy: [{ firstPublishedAt: 'desc' }, { courseId: 'desc' }],
    value: (r) => r.firstPublishedAt.toISOString(),
    after: (v, id) => ({
      OR: [{ firstPublishedAt: { lt: new Date(v) } }, { firstPublishedAt: new Date(v), courseId: { lt: id } }],
    }),
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
const cursorOf = (sort: CatalogSort, value: SortValue, courseId: string) =>
  encodeCursor(JSON.stringify([sort, value, courseId]));

export function catalogCursor(sort: ColumnSort, row: PublishedCourse): string {
  return cursorOf(sort, SORTS[sort].value(row), row.courseId);
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
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    parsed[0] !== sort ||
    typeof parsed[2] !== 'string' ||
    !isUuid(parsed[2])
  )
    throw wrong();
  const value = parsed[1] as unknown;
  const type = sort === 'POPULAR' ? 'number' : SORTS[sort].valueType;
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

/** A page of the catalog with each row's cursor. */
type CatalogPage = { rows: PublishedCourse[]; cursors: string[]; hasNextPage: boolean; totalCount: number };

/** Each instructor's newest listed courses (up to `perInstructor`), with the instructor's total, newest first. */
export async function instructorNewest(
  db: Reader,
  sql: SqlReads | null,
  instructorIds: readonly string[],
  perInstructor: number,
): Promise<{ instructorId: string; total: number; row: PublishedCourse }[]> {
  if (sql) return hot.instructorNewest(sql, instructorIds, perInstructor);
  // Two statements: the ranked ids with each instructor's total, then the rows.
  const ranked = await db.$queryRaw<{ instructor_id: string; course_id: string; total: number }[]>`
    select instructor_id::text, course_id::text, total::int from (
      select instructor_id, course_id,
             row_number() over (partition by instructor_id order by first_published_at desc, course_id desc) as rank,
             count(*) over (partition by instructor_id) as total
      from course.published_courses
      where archived_at is null and instructor_id = any(${instructorIds}::uuid[])
    ) ranked
    where rank <= ${perInstructor}
    order by instructor_id, rank`;
  const rows = await db.publishedCourse.findMany({ where: { courseId: { in: ranked.map((r) => r.course_id) } } });
  const byId = new Map(rows.map((r) => [r.courseId, r]));
  return ranked.flatMap((r) => {
    const row = byId.get(r.course_id);
    return row ? [{ instructorId: r.instructor_id, total: r.total, row }] : [];
  });
}

/**
 * First pages of instructors' listed courses, newest first, for many instructors at once.
 * User.taughtCourses asks for one instructor at a time, once per User entity in a subgraph call;
 * published courses look the same to every viewer, so the pages asked for in one tick are read
 * together, whichever request asked.
 */
async function instructorFirstPages(db: Reader, sql: SqlReads | null, keys: readonly string[]): Promise<CatalogPage[]> {
  const wanted = keys.map((key) => {
    const [instructorId, take] = key.split('|');
    return { instructorId: instructorId!, take: Number(take) };
  });
  const instructorIds = [...new Set(wanted.map((w) => w.instructorId))];
  const maxTake = Math.max(...wanted.map((w) => w.take));
  const newestFirst = new Map<string, PublishedCourse[]>();
  const totals = new Map<string, number>();
  for (const r of await instructorNewest(db, sql, instructorIds, maxTake + 1)) {
    totals.set(r.instructorId, r.total);
    if (!newestFirst.has(r.instructorId)) newestFirst.set(r.instructorId, []);
    newestFirst.get(r.instructorId)!.push(r.row);
  }
  return wanted.map(({ instructorId, take }) => {
    const list = newestFirst.get(instructorId) ?? [];
    const rows = list.slice(0, take);
    return {
      rows,
      cursors: rows.map((r) => catalogCursor('NEWEST', r)),
      hasNextPage: list.length > take,
      totalCount: totals.get(instructorId) ?? 0,
    };
  });
}

/** One loader per way of reading: a client's plain SQL (SqlReads belongs to one client), else the client. */
const instructorPageLoaders = new WeakMap<Reader | SqlReads, DataLoader<string, CatalogPage>>();

function instructorPageLoader(db: Reader, sql: SqlReads | null): DataLoader<string, CatalogPage> {
  let loader = instructorPageLoaders.get(sql ?? db);
  if (!loader) {
    // No cache: every page is read afresh; only the reads of one tick are put together.
    loader = new DataLoader((keys) => instructorFirstPages(db, sql, keys), { cache: false, maxBatchSize: 200 });
    instructorPageLoaders.set(sql ?? db, loader);
  }
  return loader;
}

const onlyInstructor = (q: CatalogQuery) =>
  q.instructorId !== undefined && Object.values(q).filter((v) => v !== undefined).length === 1;

/** `sql`: the hot reads' plain SQL (hot-reads.ts), or null for Prisma (DB_HOT_READS=prisma, a transaction). */
export async function listCatalog(
  db: Reader,
  sql: SqlReads | null,
  q: CatalogQuery,
  sort: CatalogSort,
  take: number,
  after: string | null | undefined,
): Promise<CatalogPage> {
  if (!after && sort === 'NEWEST' && onlyInstructor(q) && isUuid(q.instructorId!))
    return instructorPageLoader(db, sql).load(`${q.instructorId!.toLowerCase()}|${take}`);
  const cursor = parseCursor(sort, after);
  const where = whereOf(q);
  if (sort === 'POPULAR') return sql ? popularPageSql(sql, q, take, cursor) : popularPage(db, where, take, cursor);
  const spec = SORTS[sort];
  const [rows, totalCount] = sql
    ? await columnSortPage(sql, q, sort, cursor, take + 1)
    : await Promise.all([
        db.publishedCourse.findMany({
          where: cursor ? { AND: [where, spec.after(cursor.value, cursor.id)] } : where,
          orderBy: spec.orderBy,
          take: take + 1,
        }),
        db.publishedCourse.count({ where }),
      ]);
  const page = rows.slice(0, take);
  return { rows: page, cursors: page.map((r) => catalogCursor(sort, r)), hasNextPage: rows.length > take, totalCount };
}

/** A column sort's rows and total in plain SQL; the cursor's value typed as Prisma's `after` types it. */
async function columnSortPage(
  sql: SqlReads,
  q: CatalogQuery,
  sort: ColumnSort,
  cursor: { value: SortValue; id: string } | null,
  limit: number,
): Promise<[PublishedCourse[], number]> {
  const value = (v: SortValue) =>
    SORTS[sort].valueType === 'date' ? new Date(v) : SORTS[sort].valueType === 'number' ? Number(v) : String(v);
  const after = cursor ? { value: value(cursor.value), id: cursor.id } : null;
  const { rows, totalCount } = await hot.catalogPage(sql, q, sort, after, limit);
  return [rows, totalCount];
}

/** popularPage in plain SQL: the ranking is done by PostgreSQL, two statements (the page, the total). */
async function popularPageSql(
  sql: SqlReads,
  q: CatalogQuery,
  take: number,
  cursor: { value: SortValue; id: string } | null,
): Promise<CatalogPage> {
  const after = cursor ? { value: Number(cursor.value), id: cursor.id } : null;
  const { rows, totalCount } = await hot.popularPage(sql, q, after, take + 1);
  const page = rows.slice(0, take);
  return {
    rows: page.map((r) => r.row),
    cursors: page.map((r) => cursorOf('POPULAR', r.enrolled, r.row.courseId)),
    hasNextPage: rows.length > take,
    totalCount,
  };
}

/** Entitlement bases of an active enrolment (REFUNDED and UNENROLLED are revoked ones). */
const ENROLLED = ['FREE', 'PAID', 'AUDIT'];

/**
 * Most enrolled first (then newest id first), from course's entitlement projection of enrollment's
 * events. Three queries whatever the page: the matching courses' ids, their enrolment counts, the
 * page's rows; ranking happens here, so a page costs time linear in the matching catalog (a few
 * thousand courses). A catalog much larger would keep the count as a column of published_courses.
 * Counts change as learners enrol: a later page may repeat or skip a course that moved meanwhile.
 */
async function popularPage(
  db: Reader,
  where: Prisma.PublishedCourseWhereInput,
  take: number,
  cursor: { value: SortValue; id: string } | null,
): Promise<CatalogPage> {
  const ids = (await db.publishedCourse.findMany({ where, select: { courseId: true } })).map((r) => r.courseId);
  const groups = await db.entitlement.groupBy({
    by: ['courseId'],
    where: { courseId: { in: ids }, basis: { in: ENROLLED } },
    _count: { _all: true },
  });
  const counts = new Map(groups.map((g) => [g.courseId, g._count._all]));
  const ranked = ids
    .map((id) => ({ id, enrolled: counts.get(id) ?? 0 }))
    .sort((a, b) => b.enrolled - a.enrolled || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const start = cursor
    ? ranked.findIndex((r) => r.enrolled < Number(cursor.value) || (r.enrolled === cursor.value && r.id < cursor.id))
    : 0;
  const slice = start < 0 ? [] : ranked.slice(start, start + take + 1);
  const page = slice.slice(0, take);
  const rows = await db.publishedCourse.findMany({ where: { courseId: { in: page.map((r) => r.id) } } });
  const byId = new Map(rows.map((r) => [r.courseId, r]));
  const present = page.filter((r) => byId.has(r.id));
  return {
    rows: present.map((r) => byId.get(r.id)!),
    cursors: present.map((r) => cursorOf('POPULAR', r.enrolled, r.id)),
    hasNextPage: slice.length > take,
    totalCount: ids.length,
  };
}

export type OwnStatus = 'DRAFT' | 'PUBLISHED' | 'ARCHIVED';

/** An instructor's own courses, newest created first (ids are UUID v7: id order is creation order). */
export async function listOwnCourses(
  db: Reader,
  instructorId: string,
  status: OwnStatus | undefined,
  take: number,
  beforeId: string | null,
) {
  const byStatus: Prisma.CourseWhereInput =
    status === 'DRAFT'
      ? { published: { is: null } }
      : status === 'PUBLISHED'
        ? { published: { is: { archivedAt: null } } }
        : status === 'ARCHIVED'
          ? { published: { is: { archivedAt: { not: null } } } }
          : {};
  const where: Prisma.CourseWhereInput = { instructorId, ...byStatus };
  const [rows, totalCount] = await Promise.all([
    db.course.findMany({
      where: beforeId ? { AND: [where, { id: { lt: beforeId } }] } : where,
      include: { published: true },
      orderBy: { id: 'desc' },
      take: take + 1,
    }),
    db.course.count({ where }),
  ]);
  return { rows: rows.slice(0, take), hasNextPage: rows.length > take, totalCount };
}

/** Published (listed) courses per category, one grouped query. */
export async function countByCategory(db: Reader, sql: SqlReads | null): Promise<Map<string, number>> {
  if (sql) return hot.categoryCounts(sql);
  const groups = await db.publishedCourse.groupBy({
    by: ['category'],
    where: { archivedAt: null },
    _count: { _all: true },
  });
  return new Map(groups.map((g) => [g.category, g._count._all]));
}
