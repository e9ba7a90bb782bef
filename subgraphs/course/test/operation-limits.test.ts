/**
 * The course subgraph, reached directly (as a client could), holds operations to the default
 * limits with its own SDL's costs: the hostile shapes are refused with their reason and
 * figures, and no SQL statement runs for them; a course page is answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authoring, startCourse, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let teacher: Actor;
let courseId: string;

beforeAll(async () => {
  h = await startCourse();
  teacher = await h.actor('INSTRUCTOR');
  courseId = (await authoring(h).published(teacher, { title: 'Limits' })).id;
});
afterAll(async () => {
  await h.close();
});

/** Runs `query` and returns its answer with the number of SQL statements it caused. */
async function judged(query: string, variables?: Record<string, unknown>, actor?: Actor) {
  h.queries.length = 0;
  const res = await h.gql(query, variables, actor);
  return { ...res, sql: h.queries.length };
}

function nested(levels: number): string {
  let inner = 'id title';
  for (let i = 0; i < levels; i++) inner = `id instructor { taughtCourses(first: 50) { edges { node { ${inner} } } } }`;
  return `{ catalog(first: 50) { edges { node { ${inner} } } } }`;
}

describe('the course subgraph refuses hostile operations before any SQL', () => {
  it('catalog → instructor → taughtCourses nested 40 times', async () => {
    const res = await judged(nested(40));
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_RECURSION',
      repeats: 41,
      limit: 2,
    });
    expect(res.sql).toBe(0);
  });

  it('the Lesson.module → Module.lessons cycle', async () => {
    const res = await judged(
      'query($id: ID!) { course(id: $id) { modules { lessons { module { lessons { module { lessons { id } } } } } } } }',
      { id: courseId },
    );
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({
      reason: 'MAX_RECURSION',
      coordinate: 'Module.lessons',
      repeats: 3,
      limit: 2,
    });
    expect(res.sql).toBe(0);
  });

  it('a cost beyond the anonymous limit, through variables, with the figure', async () => {
    const query = `query($n: Int) { catalog(first: $n) { edges { node { modules { lessons { id } } prerequisites { modules { lessons { id } } }
      instructor { taughtCourses(first: $n) { edges { node { modules { lessons { id } } } } } } } } } }`;
    const res = await judged(query, { n: 100 });
    expect(res.status).toBe(400);
    // catalog: 1 + 100 × (edges 1 + node 1 + modules 11 + prerequisites (1 + 5 × 11) + instructor (1 + taughtCourses (1 + 100 × (1 + 1 + 11))))
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'COST_LIMIT',
      cost: 1 + 100 * (2 + 11 + 56 + 1 + 1 + 100 * 13),
      limit: 5000,
    });
    expect(res.sql).toBe(0);
  });

  it('_entities with 10,000 representations', async () => {
    const representations = Array.from({ length: 10_000 }, () => ({ __typename: 'Course', id: courseId }));
    const res = await judged(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Course { title instructor { id } } } }',
      { r: representations },
    );
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'COST_LIMIT',
      cost: 10_001,
      limit: 5000,
    });
    expect(res.sql).toBe(0);
  });

  it('answers a course page (modules, lessons, instructor, taught courses)', async () => {
    const res = await judged(
      `query($id: ID!) { course(id: $id) { id title modules { id title lessons { id title kind durationSeconds } } prerequisites { id title }
        instructor { id taughtCourses(first: 10) { totalCount edges { node { id title lessonCount } } } } } }`,
      { id: courseId },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.course.id).toBe(courseId);
    expect(
      res.body.data!.course.instructor.taughtCourses.edges.map((e: { node: { id: string } }) => e.node.id),
    ).toContain(courseId);
    expect(res.sql).toBeGreaterThan(0);
  });
});
