/**
 * The hot reads' plain SQL (src/data/hot-reads.ts, DB_HOT_READS=sql) gives exactly what the Prisma
 * path gives: each read runs both ways on the same rows and the results are deeply equal, for
 * published, archived and never-published courses, every filter and sort, next pages by cursor,
 * empty and unknown id lists.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextDatabaseUrl } from '@coursegraph/test-support';
import {
  listCatalog,
  countByCategory,
  instructorNewest,
  type CatalogQuery,
  type CatalogSort,
} from '../src/data/catalog.js';
import { createDatabase } from '../src/data/db.js';
import { coursesById } from '../src/data/hot-reads.js';
import { courseIdBySlug, loadPublishedTrees } from '../src/data/published.js';
import { authoring, startCourse, uniq, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let both: ReturnType<typeof createDatabase>;
/** The statements `both` sent. */
const statements: string[] = [];
let teacher: Actor;
const tag = uniq('hot');
const ids: { published: string[]; draft: string; archived: string } = { published: [], draft: '', archived: '' };
const slugs: string[] = [];

beforeAll(async () => {
  h = await startCourse();
  both = createDatabase(contextDatabaseUrl('course'), {
    poolSize: 2,
    hotReads: 'sql',
    onQuery: (text) => statements.push(text),
  });
  const a = authoring(h);
  teacher = await h.actor('INSTRUCTOR');
  // Prices, levels, languages and titles that sort differently; two equal prices test the keyset's tie.
  const inputs = [
    { title: 'Bravo course', price: { amountMinor: 0, currency: 'USD' }, level: 'BEGINNER', language: 'en' },
    { title: 'alpha course', price: { amountMinor: 1500, currency: 'USD' }, level: 'ADVANCED', language: 'de' },
    { title: 'Charlie course', price: { amountMinor: 1500, currency: 'EUR' }, level: 'INTERMEDIATE', language: 'en' },
    { title: 'Delta course', price: { amountMinor: 900, currency: 'USD' }, category: 'design', language: 'pt-BR' },
    { title: 'Echo course', summary: 'With a summary.', level: 'BEGINNER', language: 'en' },
  ];
  for (const input of inputs) {
    const c = await a.published(teacher, { ...input, tags: [tag, 'extra'] }, 1, 2);
    ids.published.push(c.id);
    slugs.push(c.slug);
  }
  const draft = await a.publishable(teacher, { title: 'Never published', tags: [tag] });
  const archived = await a.published(teacher, { title: 'Archived course', tags: [tag] });
  [ids.draft, ids.archived] = [draft.id, archived.id];
  slugs.push(draft.slug, archived.slug);
  await h.ok(`mutation($id: ID!) { archiveCourse(courseId: $id) { id } }`, { id: ids.archived }, teacher);
  // Enrolments for POPULAR: 3, 1, 1 (a tie), 0 and 0, plus a revoked one that does not count.
  const entitlement = (courseId: string, basis: string) => ({
    userId: randomUUID(),
    courseId,
    enrollmentId: randomUUID(),
    basis,
    active: basis !== 'REFUNDED',
    eventSequence: 1n,
    decidedAt: new Date(),
  });
  const [c0, c1, c2, c3] = ids.published as [string, string, string, string];
  await both.db.entitlement.createMany({
    data: [
      ...['FREE', 'PAID', 'AUDIT'].map((basis) => entitlement(c0, basis)),
      entitlement(c1, 'PAID'),
      entitlement(c2, 'FREE'),
      entitlement(c3, 'REFUNDED'),
    ],
  });
});

afterAll(async () => {
  await both?.db.$disconnect();
  await h?.close();
});

const sql = () => both.sql!;
const byId = <T extends { id: string }>(rows: T[]) => [...rows].sort((x, y) => x.id.localeCompare(y.id));

describe('courses by id (the course loader)', () => {
  it('gives the course rows with their published row (null when never published), archived ones too', async () => {
    const wanted = [...ids.published, ids.draft, ids.archived, randomUUID()];
    const viaSql = await coursesById(sql(), wanted);
    const viaPrisma = await both.db.course.findMany({ where: { id: { in: wanted } }, include: { published: true } });
    expect(viaSql).toHaveLength(7);
    expect(byId(viaSql)).toStrictEqual(byId(viaPrisma));
    expect(viaSql.find((c) => c.id === ids.draft)!.published).toBeNull();
    expect(viaSql.find((c) => c.id === ids.archived)!.published!.archivedAt).toBeInstanceOf(Date);
  });

  it('gives nothing for an empty list or unknown ids', async () => {
    expect(await coursesById(sql(), [])).toStrictEqual([]);
    expect(await coursesById(sql(), [randomUUID(), randomUUID()])).toStrictEqual([]);
  });
});

describe('a course by slug', () => {
  it('finds published, archived and never-published courses; nothing for an unknown or hostile slug', async () => {
    for (const slug of [...slugs, 'no-such-course', "x' or 1=1 --"])
      expect(await courseIdBySlug(both.db, sql(), slug)).toStrictEqual(await courseIdBySlug(both.db, null, slug));
    expect(await courseIdBySlug(both.db, sql(), slugs[5]!)).toBe(ids.draft);
    expect(await courseIdBySlug(both.db, sql(), 'no-such-course')).toBeNull();
  });
});

describe('published trees', () => {
  it('reads the latest published snapshot, none for a draft, an unknown id or an empty list', async () => {
    const wanted = [...ids.published, ids.draft, ids.archived, randomUUID()];
    const viaSql = await loadPublishedTrees(both.db, sql(), wanted);
    expect([...viaSql.keys()].sort()).toStrictEqual([...ids.published, ids.archived].sort());
    expect(viaSql).toStrictEqual(await loadPublishedTrees(both.db, null, wanted));
    expect(await loadPublishedTrees(both.db, sql(), [])).toStrictEqual(new Map());
  });
});

describe('catalog pages', () => {
  const SORTS: CatalogSort[] = ['NEWEST', 'TITLE', 'PRICE_ASC', 'PRICE_DESC', 'POPULAR'];
  const filters = (): CatalogQuery[] => [
    { tag },
    { tag, category: 'design' },
    { tag, category: 'programming', level: 'BEGINNER' },
    { tag, language: 'en' },
    { tag, isFree: true },
    { tag, isFree: false },
    { tag, instructorId: teacher.userId },
    { tag, level: 'ADVANCED', language: 'fr' },
  ];

  /** Every page of a list, both ways, following each one's own cursors. */
  async function walk(q: CatalogQuery, sort: CatalogSort, take: number) {
    const pages: Awaited<ReturnType<typeof listCatalog>>[] = [];
    for (let after: string | null = null, n = 0; n < 10; n++) {
      const s = await listCatalog(both.db, sql(), q, sort, take, after);
      const p = await listCatalog(both.db, null, q, sort, take, after);
      expect(s, `${sort} ${JSON.stringify(q)} page ${n}`).toStrictEqual(p);
      pages.push(s);
      if (!s.hasNextPage) break;
      after = s.cursors.at(-1)!;
    }
    return pages;
  }

  it('are the same rows, cursors and totals for every filter and sort, page after page', async () => {
    for (const q of filters())
      for (const sort of SORTS) {
        const pages = await walk(q, sort, 2);
        const listed = pages.flatMap((p) => p.rows.map((r) => r.courseId));
        // The archived course and the draft are never listed.
        expect(listed).not.toContain(ids.archived);
        expect(listed).not.toContain(ids.draft);
        expect(new Set(listed).size).toBe(pages[0]!.totalCount);
      }
    // The first filter lists the five published courses; POPULAR ranks them by active enrolments,
    // then by id, newest first (a revoked enrolment does not count).
    expect((await listCatalog(both.db, sql(), { tag }, 'TITLE', 10, null)).totalCount).toBe(5);
    const [c0, c1, c2, c3, c4] = ids.published as [string, string, string, string, string];
    const newestFirst = (...list: string[]) => list.sort().reverse();
    expect((await listCatalog(both.db, sql(), { tag }, 'POPULAR', 10, null)).rows.map((r) => r.courseId)).toStrictEqual(
      [c0, ...newestFirst(c1, c2), ...newestFirst(c3, c4)],
    );
  });

  it('are the same with no filter at all, and for an instructor alone (User.taughtCourses)', async () => {
    expect(await listCatalog(both.db, sql(), { instructorId: teacher.userId }, 'NEWEST', 3, null)).toStrictEqual(
      await listCatalog(both.db, null, { instructorId: teacher.userId }, 'NEWEST', 3, null),
    );
    const first = await listCatalog(both.db, sql(), {}, 'TITLE', 5, null);
    expect(first.rows).toHaveLength(5);
    // Other test files publish meanwhile: the whole catalog's total may move between two reads, its first titles hardly.
    expect(first.rows).toStrictEqual((await listCatalog(both.db, null, {}, 'TITLE', 5, null)).rows);
  });

  it('refuse a cursor of another sort before any SQL', async () => {
    const page = await listCatalog(both.db, sql(), { tag }, 'TITLE', 2, null);
    statements.length = 0;
    await expect(listCatalog(both.db, sql(), { tag }, 'NEWEST', 2, page.cursors[0])).rejects.toThrow(/not a cursor/);
    expect(statements).toStrictEqual([]);
  });
});

describe("instructors' newest courses", () => {
  it('are the same rows and totals for several instructors, none for unknown ones or an empty list', async () => {
    const other = await h.actor('INSTRUCTOR');
    const wanted = [teacher.userId, other.userId, randomUUID()];
    for (const take of [1, 3, 10]) {
      const viaSql = await instructorNewest(both.db, sql(), wanted, take);
      expect(viaSql).toStrictEqual(await instructorNewest(both.db, null, wanted, take));
      expect(viaSql.filter((r) => r.instructorId === teacher.userId)).toHaveLength(Math.min(take, 5));
      expect(viaSql.every((r) => r.total === 5)).toBe(true);
    }
    expect(await instructorNewest(both.db, sql(), [], 3)).toStrictEqual([]);
  });
});

describe('category counts', () => {
  it('count the listed courses per category', async () => {
    // Other test files may publish between the two reads: they agree once no publication fell between.
    let viaSql = new Map<string, number>();
    let viaPrisma = new Map<string, number>();
    for (let attempt = 0; attempt < 5; attempt++) {
      [viaSql, viaPrisma] = [await countByCategory(both.db, sql()), await countByCategory(both.db, null)];
      if (JSON.stringify([...viaSql].sort()) === JSON.stringify([...viaPrisma].sort())) break;
    }
    expect(viaSql).toStrictEqual(viaPrisma);
    expect(viaSql.get('design')).toBeGreaterThanOrEqual(1);
  });
});
