/**
 * Course's hot reads in plain SQL (DB_HOT_READS=sql, the kit's sql-reads.ts): the statements every
 * catalog page, course page and dashboard runs. Each returns exactly what its Prisma twin returns
 * (the call beside it in catalog.ts, loaders.ts and published.ts); test/hot-reads.test.ts runs both
 * on the same rows. Columns are named as prisma/course/schema.prisma maps them.
 */
import { preparedRead, type SqlReads } from '@coursegraph/service-kit';
import type { Course, PublishedCourse } from '../generated/prisma/client.js';

/** Field → column of each model read here (the schema's @map). */
const PUBLISHED: Record<keyof PublishedCourse, string> = {
  courseId: 'course_id',
  version: 'version',
  instructorId: 'instructor_id',
  slug: 'slug',
  title: 'title',
  summary: 'summary',
  category: 'category',
  tags: 'tags',
  level: 'level',
  language: 'language',
  priceMinor: 'price_minor',
  currency: 'currency',
  moduleCount: 'module_count',
  lessonCount: 'lesson_count',
  firstPublishedAt: 'first_published_at',
  publishedAt: 'published_at',
  archivedAt: 'archived_at',
};
const COURSE: Record<keyof Course, string> = {
  id: 'id',
  instructorId: 'instructor_id',
  slug: 'slug',
  title: 'title',
  summary: 'summary',
  description: 'description',
  category: 'category',
  tags: 'tags',
  level: 'level',
  language: 'language',
  priceMinor: 'price_minor',
  currency: 'currency',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

/** `alias.column as "<prefix>field", …`: enums come back as their labels, as Prisma gives them. */
const columns = (fields: Record<string, string>, alias: string, prefix = '') =>
  Object.entries(fields)
    .map(([field, column]) => `${alias}.${column} as "${prefix}${field}"`)
    .join(', ');

// ---- Courses by id, with the published row (the `course` loader) ----

const COURSES_BY_ID = preparedRead<Record<string, unknown>>(
  'course.courses_by_id',
  `select ${columns(COURSE, 'c')}, ${columns(PUBLISHED, 'p', 'p.')}
     from course.courses c left join course.published_courses p on p.course_id = c.id
    where c.id = any($1::uuid[])`,
);

export async function coursesById(
  sql: SqlReads,
  ids: readonly string[],
): Promise<(Course & { published: PublishedCourse | null })[]> {
  const rows = await sql.rows(COURSES_BY_ID, [ids]);
  return rows.map((row) => {
    const course = {} as Record<string, unknown>;
    const published = {} as Record<string, unknown>;
    for (const [key, value] of Object.entries(row)) {
      if (key.startsWith('p.')) published[key.slice(2)] = value;
      else course[key] = value;
    }
    return {
      ...(course as Course),
      published: published.courseId === null ? null : (published as PublishedCourse),
    };
  });
}

// ---- A course by slug (Query.course) ----

const ID_BY_SLUG = preparedRead<{ id: string | null }>(
  'course.id_by_slug',
  `select coalesce((select course_id from course.published_courses where slug = $1),
                   (select id from course.courses where slug = $1))::text as id`,
);

/** The course whose published slug is `slug`, else whose draft's is. */
export async function courseIdBySlug(sql: SqlReads, slug: string): Promise<string | null> {
  return (await sql.rows(ID_BY_SLUG, [slug]))[0]!.id;
}

// ---- Published trees (the latest version's snapshot) ----

const PUBLISHED_SNAPSHOTS = preparedRead<{ course_id: string; snapshot: unknown }>(
  'course.published_snapshots',
  `select v.course_id::text, v.snapshot
     from course.published_courses p
     join course.course_versions v on v.course_id = p.course_id and v.version = p.version
    where p.course_id = any($1::uuid[])`,
);

export const publishedSnapshots = (sql: SqlReads, courseIds: readonly string[]) =>
  sql.rows(PUBLISHED_SNAPSHOTS, [courseIds]);

// ---- Catalog pages ----

/** The catalog's filters, each skipped when its parameter is null ($1 … $6, see catalogValues). */
const LISTED = `archived_at is null
  and ($1::text is null or category = $1)
  and ($2::text is null or level::text = $2)
  and ($3::text is null or language = $3)
  and ($4::boolean is null or ($4 and price_minor = 0) or (not $4 and price_minor > 0))
  and ($5::uuid is null or instructor_id = $5)
  and ($6::text is null or tags @> array[$6::text])`;

export interface CatalogFilterValues {
  category?: string;
  level?: string;
  language?: string;
  isFree?: boolean;
  instructorId?: string;
  tag?: string;
}

const catalogValues = (q: CatalogFilterValues) => [
  q.category ?? null,
  q.level ?? null,
  q.language ?? null,
  q.isFree ?? null,
  q.instructorId ?? null,
  q.tag ?? null,
];

/**
 * One statement per column sort: rows after the keyset ($7 value, $8 id; both null on a first page),
 * `$9` of them. A row comparison `(a, b) < (v, id)` is Prisma's `a < v or (a = v and b < id)`.
 */
const pageStatement = (name: string, valueType: string, column: string, direction: 'asc' | 'desc') =>
  preparedRead<PublishedCourse>(
    `course.catalog_${name}`,
    `select ${columns(PUBLISHED, 'p')} from course.published_courses p
      where ${LISTED}
        and ($7::${valueType} is null or (${column}, course_id) ${direction === 'asc' ? '>' : '<'} ($7::${valueType}, $8::uuid))
      order by ${column} ${direction}, course_id ${direction}
      limit $9`,
  );

const PAGES = {
  NEWEST: pageStatement('newest', 'timestamptz', 'first_published_at', 'desc'),
  TITLE: pageStatement('title', 'text', 'title', 'asc'),
  PRICE_ASC: pageStatement('price_asc', 'int', 'price_minor', 'asc'),
  PRICE_DESC: pageStatement('price_desc', 'int', 'price_minor', 'desc'),
};

const CATALOG_COUNT = preparedRead<{ n: number }>(
  'course.catalog_count',
  `select count(*)::int as n from course.published_courses where ${LISTED}`,
);

export async function catalogPage(
  sql: SqlReads,
  q: CatalogFilterValues,
  sort: keyof typeof PAGES,
  after: { value: Date | string | number; id: string } | null,
  limit: number,
): Promise<{ rows: PublishedCourse[]; totalCount: number }> {
  const values = catalogValues(q);
  const [rows, count] = await Promise.all([
    sql.rows(PAGES[sort], [...values, after?.value ?? null, after?.id ?? null, limit]),
    sql.rows(CATALOG_COUNT, values),
  ]);
  return { rows, totalCount: count[0]!.n };
}

/**
 * Most enrolled first, then newest id first (POPULAR): each listed course with its active
 * enrolments (FREE, PAID or AUDIT entitlements), after the keyset ($7 count, $8 id), `$9` of them.
 */
const POPULAR_PAGE = preparedRead<PublishedCourse & { enrolled: number }>(
  'course.catalog_popular',
  `select ${columns(PUBLISHED, 'p')}, coalesce(e.n, 0)::int as enrolled
     from course.published_courses p
     left join (select course_id, count(*) as n from course.entitlements
                 where basis in ('FREE', 'PAID', 'AUDIT') group by course_id) e on e.course_id = p.course_id
    where ${LISTED}
      and ($7::int is null or (coalesce(e.n, 0), p.course_id) < ($7::int, $8::uuid))
    order by coalesce(e.n, 0) desc, p.course_id desc
    limit $9`,
);

export async function popularPage(
  sql: SqlReads,
  q: CatalogFilterValues,
  after: { value: number; id: string } | null,
  limit: number,
): Promise<{ rows: { row: PublishedCourse; enrolled: number }[]; totalCount: number }> {
  const values = catalogValues(q);
  const [rows, count] = await Promise.all([
    sql.rows(POPULAR_PAGE, [...values, after?.value ?? null, after?.id ?? null, limit]),
    sql.rows(CATALOG_COUNT, values),
  ]);
  return { rows: rows.map(({ enrolled, ...row }) => ({ row, enrolled })), totalCount: count[0]!.n };
}

// ---- Instructors' first pages (User.taughtCourses) ----

const INSTRUCTOR_PAGES = preparedRead<PublishedCourse & { total: number }>(
  'course.instructor_first_pages',
  `select ${columns(PUBLISHED, 'p')}, ranked.total from (
      select course_id, instructor_id,
             row_number() over (partition by instructor_id order by first_published_at desc, course_id desc) as rank,
             count(*) over (partition by instructor_id)::int as total
        from course.published_courses
       where archived_at is null and instructor_id = any($1::uuid[])
    ) ranked
    join course.published_courses p on p.course_id = ranked.course_id
   where ranked.rank <= $2
   order by ranked.instructor_id, ranked.rank`,
);

/** Each instructor's newest listed courses (up to `perInstructor`) with the instructor's total, in one statement. */
export async function instructorNewest(sql: SqlReads, instructorIds: readonly string[], perInstructor: number) {
  const rows = await sql.rows(INSTRUCTOR_PAGES, [instructorIds, perInstructor]);
  return rows.map(({ total, ...row }) => ({ instructorId: row.instructorId, total, row: row as PublishedCourse }));
}

// ---- Category counts ----

const CATEGORY_COUNTS = preparedRead<{ category: string; n: number }>(
  'course.category_counts',
  `select category, count(*)::int as n from course.published_courses where archived_at is null group by category`,
);

export async function categoryCounts(sql: SqlReads): Promise<Map<string, number>> {
  return new Map((await sql.rows(CATEGORY_COUNTS, [])).map((r) => [r.category, r.n]));
}
