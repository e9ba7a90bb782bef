import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '@coursegraph/test-support';
import { authoring, startCourse, uniq, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let teacher: Actor;
let tag: string;
/** The teacher's listed courses, by letter. */
const c: Record<string, string> = {};

const CATALOG = `query($f: CatalogFilter, $s: CatalogSort, $first: Int, $after: String) {
  catalog(filter: $f, sort: $s, first: $first, after: $after) {
    totalCount edges { cursor node { id title status isFree price { amountMinor } } } pageInfo { hasNextPage endCursor } } }`;

beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  teacher = await h.actor('INSTRUCTOR');
  tag = uniq('tag');
  const specs: [string, Record<string, unknown>][] = [
    ['A', { title: 'Alpha', category: 'design', level: 'BEGINNER', language: 'en', tags: [tag] }],
    [
      'B',
      {
        title: 'Bravo',
        category: 'programming',
        level: 'INTERMEDIATE',
        language: 'ru',
        price: { amountMinor: 1900, currency: 'USD' },
      },
    ],
    [
      'C',
      {
        title: 'Charlie',
        category: 'programming',
        level: 'ADVANCED',
        language: 'es',
        price: { amountMinor: 9900, currency: 'USD' },
        tags: [tag],
      },
    ],
    [
      'D',
      {
        title: 'Delta',
        category: 'design',
        level: 'BEGINNER',
        language: 'en',
        price: { amountMinor: 4900, currency: 'USD' },
      },
    ],
  ];
  for (const [letter, input] of specs) c[letter] = (await a.published(teacher, input)).id;
  await a.createCourse(teacher, { title: 'Echo draft' });
  const archived = await a.published(teacher, { title: 'Foxtrot archived' });
  await h.ok(`mutation($id: ID!) { archiveCourse(courseId: $id) { id } }`, { id: archived.id }, teacher);
});
afterAll(async () => {
  await h.close();
});

const catalog = async (vars: Record<string, unknown>) => {
  const f = { instructorId: teacher.userId, ...(vars.f as object) };
  return (await h.ok<{ catalog: any }>(CATALOG, { ...vars, f })).catalog;
};
const ids = (page: any) => page.edges.map((e: any) => e.node.id);

describe('catalog', () => {
  it('lists published courses only (no drafts, no archived), newest first by default', async () => {
    const page = await catalog({});
    expect(page.totalCount).toBe(4);
    expect(ids(page)).toEqual([c.D, c.C, c.B, c.A]);
    expect(page.edges.every((e: any) => e.node.status === 'PUBLISHED')).toBe(true);
  });

  it.each([
    ['TITLE', ['A', 'B', 'C', 'D']],
    ['PRICE_ASC', ['A', 'B', 'D', 'C']],
    ['PRICE_DESC', ['C', 'D', 'B', 'A']],
    ['NEWEST', ['D', 'C', 'B', 'A']],
  ])('sorts by %s, and pages through that order one by one', async (sort, order) => {
    expect(ids(await catalog({ s: sort }))).toEqual(order.map((l) => c[l]));
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 4; i++) {
      const page: any = await catalog({ s: sort, first: 1, after });
      expect(page.totalCount).toBe(4);
      seen.push(...ids(page));
      expect(page.pageInfo.hasNextPage).toBe(i < 3);
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(order.map((l) => c[l]));
  });

  it.each<[Record<string, unknown>, string[]]>([
    [{ category: 'design' }, ['D', 'A']],
    [{ level: 'BEGINNER' }, ['D', 'A']],
    [{ language: 'EN' }, ['D', 'A']],
    [{ language: 'ru' }, ['B']],
    [{ isFree: true }, ['A']],
    [{ isFree: false }, ['D', 'C', 'B']],
    [{ category: 'programming', level: 'ADVANCED' }, ['C']],
    [{ category: 'music' }, []],
  ])('filters by %j', async (f, expected) => {
    const page = await catalog({ f });
    expect(ids(page)).toEqual(expected.map((l) => c[l]));
    expect(page.totalCount).toBe(expected.length);
  });

  it('filters by tag, case-insensitively', async () => {
    expect(ids(await catalog({ f: { tag: tag.toUpperCase() } }))).toEqual([c.C, c.A]);
  });

  it('shows the new version after a republish: title sort moves, newest keeps the first publication', async () => {
    const other = await h.actor('INSTRUCTOR');
    const x = await a.published(other, { title: 'Aardvark' });
    const y = await a.published(other, { title: 'Zebra' });
    await h.ok(
      `mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }`,
      { i: { courseId: x.id, title: 'Zulu' } },
      other,
    );
    const only = (sort: string) =>
      h.ok<{ catalog: any }>(CATALOG, { f: { instructorId: other.userId }, s: sort }).then((d) => ids(d.catalog));
    expect(await only('TITLE')).toEqual([x.id, y.id]); // the draft's new title is not live yet
    await a.publish(other, x.id);
    expect(await only('TITLE')).toEqual([y.id, x.id]);
    expect(await only('NEWEST')).toEqual([y.id, x.id]);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ after: 'garbage!' }, 'after'],
    [{ after: Buffer.from('c:["TITLE","x"]').toString('base64url') }, 'after'],
    [
      { after: Buffer.from('c:["NEWEST","not a date","0190a1b2-0000-7000-8000-000000000000"]').toString('base64url') },
      'after',
    ],
    [{ f: { category: 'astrology' } }, 'filter.category'],
    [{ f: { language: '12' } }, 'filter.language'],
    [{ f: { instructorId: 'me' } }, 'filter.instructorId'],
    [{ f: { tag: '' } }, 'filter.tag'],
  ])('refuses %j', async (vars, field) => {
    const res = await h.gql(CATALOG, vars);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe(field);
  });

  it('refuses a cursor made for another sort order', async () => {
    const page = await catalog({ s: 'TITLE', first: 1 });
    const res = await h.gql(CATALOG, {
      f: { instructorId: teacher.userId },
      s: 'PRICE_ASC',
      after: page.pageInfo.endCursor,
    });
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('categories and instructors', () => {
  it('counts listed courses per category', async () => {
    const data = await h.ok<{ categories: any[] }>(`{ categories { slug name courseCount } }`);
    const listed = await h.app.db.publishedCourse.groupBy({
      by: ['category'],
      where: { archivedAt: null },
      _count: { _all: true },
    });
    const expected = new Map(listed.map((g) => [g.category, g._count._all]));
    expect(data.categories.length).toBeGreaterThanOrEqual(8);
    for (const cat of data.categories)
      expect([cat.slug, cat.courseCount]).toEqual([cat.slug, expected.get(cat.slug) ?? 0]);
  });

  it("contributes User.taughtCourses: the instructor's listed courses, newest first", async () => {
    const res = await h.ok<{ _entities: any[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id taughtCourses(first: 2) { totalCount edges { node { id } } } } } }`,
      { r: [{ __typename: 'User', id: teacher.userId }] },
    );
    expect(res._entities[0]).toEqual({
      id: teacher.userId,
      taughtCourses: { totalCount: 4, edges: [{ node: { id: c.D } }, { node: { id: c.C } }] },
    });
  });
});
