/** Entity references, and the promise that lists cost a constant number of SQL queries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authoring, COURSE_FIELDS, DRAFT_FIELDS, startCourse, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let teacher: Actor;
let admin: Actor;
const courses: Awaited<ReturnType<ReturnType<typeof authoring>['published']>>[] = [];
beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  teacher = await h.actor('INSTRUCTOR');
  admin = await h.actor('ADMIN');
  for (let i = 0; i < 8; i++) courses.push(await a.published(teacher, { title: `Course ${i}` }, 2, 2));
  // Some prerequisites, so the lists below resolve course references too.
  for (let i = 1; i < 8; i++) {
    await h.ok(
      `mutation($id: ID!, $p: [ID!]!) { setPrerequisites(courseId: $id, prerequisiteIds: $p) { id } }`,
      { id: courses[i]!.id, p: [courses[i - 1]!.id] },
      teacher,
    );
    await a.publish(teacher, courses[i]!.id);
  }
});
afterAll(async () => {
  await h.close();
});

const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Course { id title status }
  ... on Module { id title course { id } lessons { id } }
  ... on Lesson { id title kind module { id title } course { id } }
} }`;

/** SQL statements one operation costs. */
async function cost(query: string, variables: Record<string, unknown>, actor?: Actor): Promise<number> {
  h.queries.length = 0;
  await h.ok(query, variables, actor);
  return h.queries.length;
}

describe('entity references', () => {
  it('resolve published courses, modules and lessons in one batch, null for unknown or malformed ids', async () => {
    const [c] = courses as [(typeof courses)[number]];
    const res = await h.ok<{ _entities: any[] }>(ENTITIES, {
      r: [
        { __typename: 'Course', id: c.id },
        { __typename: 'Module', id: c.moduleIds[1] },
        { __typename: 'Lesson', id: c.lessonIds[3] },
        { __typename: 'Course', id: crypto.randomUUID() },
        { __typename: 'Lesson', id: 'not-a-uuid' },
        { __typename: 'Module', id: crypto.randomUUID() },
      ],
    });
    expect(res._entities).toEqual([
      { id: c.id, title: 'Course 0', status: 'PUBLISHED' },
      {
        id: c.moduleIds[1],
        title: 'Module 2',
        course: { id: c.id },
        lessons: [{ id: c.lessonIds[2] }, { id: c.lessonIds[3] }],
      },
      {
        id: c.lessonIds[3],
        title: 'Lesson 2.2',
        kind: 'ARTICLE',
        module: { id: c.moduleIds[1], title: 'Module 2' },
        course: { id: c.id },
      },
      null,
      null,
      null,
    ]);
  });

  it('give the published form of a lesson: a draft-only lesson is null, a lesson removed from the draft stays until republished', async () => {
    const c = await a.published(teacher);
    const draftOnly = await a.addLesson(teacher, c.moduleIds[0]!, { title: 'Not yet' });
    await h.ok(
      `mutation($i: UpdateLessonInput!) { updateLesson(input: $i) { id } }`,
      { i: { lessonId: c.lessonIds[0], title: 'Renamed' } },
      teacher,
    );
    await h.ok(`mutation($id: ID!) { removeLesson(lessonId: $id) { id } }`, { id: c.lessonIds[1] }, teacher);
    const reps = [draftOnly.id, c.lessonIds[0], c.lessonIds[1]].map((id) => ({ __typename: 'Lesson', id }));
    const before = (await h.ok<{ _entities: any[] }>(ENTITIES, { r: reps }))._entities;
    expect(before.map((l) => l && l.title)).toEqual([null, 'Lesson 1.1', 'Lesson 1.2']);
    await a.publish(teacher, c.id);
    const after = (await h.ok<{ _entities: any[] }>(ENTITIES, { r: reps }))._entities;
    expect(after.map((l) => l && l.title)).toEqual(['Not yet', 'Renamed', null]);
  });

  it('cost the same number of queries for 1 or 24 lesson references', async () => {
    const lessons = courses.flatMap((c) => c.lessonIds).slice(0, 24);
    const one = await cost(ENTITIES, { r: lessons.slice(0, 1).map((id) => ({ __typename: 'Lesson', id })) });
    const many = await cost(ENTITIES, { r: lessons.map((id) => ({ __typename: 'Lesson', id })) });
    expect(lessons).toHaveLength(24);
    expect(many).toBe(one);
  });
});

describe('no N+1', () => {
  const PAGE = `query($f: CatalogFilter, $first: Int) { catalog(filter: $f, first: $first) { totalCount edges { node {
    ${COURSE_FIELDS} category { slug courseCount } modules { lessons { module { id } course { id } } } prerequisites { id title moduleCount lessonCount }
  } } } }`;

  it('a catalog page costs the same number of queries for 1 or 8 courses, for learners and for admins', async () => {
    const f = { instructorId: teacher.userId };
    const one = await cost(PAGE, { f, first: 1 });
    const eight = await cost(PAGE, { f, first: 8 });
    expect(eight).toBe(one);
    expect(one).toBeLessThanOrEqual(8);
    // Admins also read every draft (hasUnpublishedChanges, draft): still constant.
    const ADMIN_PAGE = PAGE.replace('category {', `${DRAFT_FIELDS} category {`);
    expect(await cost(ADMIN_PAGE, { f, first: 8 }, admin)).toBe(await cost(ADMIN_PAGE, { f, first: 1 }, admin));
  });

  it('the course counts alone come from the catalog rows: two queries per page (one in plain SQL)', async () => {
    expect(
      await cost(
        `query($f: CatalogFilter) { catalog(filter: $f, first: 8) { edges { node { id moduleCount lessonCount } } } }`,
        { f: { instructorId: teacher.userId } },
      ),
    ).toBe(h.app.sql ? 1 : 2);
  });
});
