import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '@coursegraph/test-support';
import { authoring, DRAFT_FIELDS, startCourse, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let owner: Actor;
let other: Actor;
let learner: Actor;
let admin: Actor;
beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  [owner, other, learner, admin] = await Promise.all([
    h.actor('INSTRUCTOR'),
    h.actor('INSTRUCTOR'),
    h.actor('LEARNER'),
    h.actor('ADMIN'),
  ]);
});
afterAll(async () => {
  await h.close();
});

/** Every authoring mutation, aimed at one course (its first module and lesson). */
function mutations(c: {
  id: string;
  moduleIds: string[];
  lessonIds: string[];
}): [string, string, Record<string, unknown>][] {
  const [moduleId] = c.moduleIds as [string];
  const [lessonId] = c.lessonIds as [string];
  return [
    [
      'updateCourse',
      `mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }`,
      { i: { courseId: c.id, title: 'Hijacked' } },
    ],
    [
      'updateModule',
      `mutation($i: UpdateModuleInput!) { updateModule(input: $i) { id } }`,
      { i: { moduleId, title: 'Hijacked' } },
    ],
    ['moveModule', `mutation($i: MoveModuleInput!) { moveModule(input: $i) { id } }`, { i: { moduleId, position: 0 } }],
    [
      'addLesson',
      `mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`,
      { i: { moduleId, title: 'Hijacked', kind: 'QUIZ' } },
    ],
    [
      'updateLesson',
      `mutation($i: UpdateLessonInput!) { updateLesson(input: $i) { id } }`,
      { i: { lessonId, title: 'Hijacked' } },
    ],
    ['moveLesson', `mutation($i: MoveLessonInput!) { moveLesson(input: $i) { id } }`, { i: { lessonId, position: 0 } }],
    [
      'setPrerequisites',
      `mutation($id: ID!) { setPrerequisites(courseId: $id, prerequisiteIds: []) { id } }`,
      { id: c.id },
    ],
    ['publishCourse', `mutation($id: ID!) { publishCourse(courseId: $id) { id } }`, { id: c.id }],
    ['archiveCourse', `mutation($id: ID!) { archiveCourse(courseId: $id) { id } }`, { id: c.id }],
    [
      'addModule',
      `mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`,
      { i: { courseId: c.id, title: 'Hijacked' } },
    ],
    ['removeLesson', `mutation($id: ID!) { removeLesson(lessonId: $id) { id } }`, { id: lessonId }],
    ['removeModule', `mutation($id: ID!) { removeModule(moduleId: $id) { id } }`, { id: moduleId }],
  ];
}

const state = async (courseId: string) => ({
  course: await h.app.db.course.findUniqueOrThrow({ where: { id: courseId } }),
  modules: await h.app.db.module.findMany({ where: { courseId }, orderBy: { id: 'asc' } }),
  lessons: await h.app.db.lesson.findMany({ where: { courseId }, orderBy: { id: 'asc' } }),
  published: await h.app.db.publishedCourse.findUnique({ where: { courseId } }),
});

describe('authoring rights', () => {
  it.each([
    ['another instructor', () => other, 'FORBIDDEN'],
    ['a learner', () => learner, 'FORBIDDEN'],
    ['an anonymous caller', () => undefined, 'UNAUTHENTICATED'],
  ])('%s can change nothing of a course', async (_who, actor, code) => {
    const c = await a.published(owner, {}, 1, 2);
    const before = await state(c.id);
    for (const [name, query, variables] of mutations(c)) {
      const res = await h.gql(query, variables, actor());
      expect([name, errorCode(res)]).toEqual([name, code]);
    }
    expect(await state(c.id)).toEqual(before);
  });

  it('an admin may change, publish and archive any course', async () => {
    const c = await a.published(owner, {}, 1, 2);
    for (const [name, query, variables] of mutations(c)) {
      const res = await h.gql(query, variables, admin);
      expect([name, res.body.errors]).toEqual([name, undefined]);
    }
    const after = await state(c.id);
    expect(after.course.title).toBe('Hijacked');
    expect(after.published?.archivedAt).not.toBeNull();
  });

  it('creating a course needs the INSTRUCTOR or ADMIN role', async () => {
    const CREATE = `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id instructor { id } } }`;
    const input = { i: { title: 'Mine now', category: 'design', level: 'BEGINNER', language: 'en' } };
    expect(errorCode(await h.gql(CREATE, input, learner))).toBe('FORBIDDEN');
    expect(errorCode(await h.gql(CREATE, input))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.gql(CREATE, input, 'not-a-token'))).toBe('UNAUTHENTICATED');
    expect((await h.ok<{ createCourse: any }>(CREATE, input, admin)).createCourse.instructor.id).toBe(admin.userId);
  });
});

describe('what each caller sees', () => {
  const READ = `query($id: ID!) { course(id: $id) { id hasUnpublishedChanges ${DRAFT_FIELDS} } }`;

  it('a never-published draft is visible only to its instructor and admins', async () => {
    const c = await a.createCourse(owner);
    for (const actor of [other, learner, undefined])
      expect((await h.ok<{ course: any }>(READ, { id: c.id }, actor)).course).toBeNull();
    for (const actor of [owner, admin])
      expect((await h.ok<{ course: any }>(READ, { id: c.id }, actor)).course).toMatchObject({
        id: c.id,
        hasUnpublishedChanges: true,
      });
    const ref = await h.ok<{ _entities: any[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Course { id } } }`,
      { r: [{ __typename: 'Course', id: c.id }] },
      learner,
    );
    expect(ref._entities).toEqual([null]);
  });

  it('the draft of a published course and its change flag are for its managers only', async () => {
    const c = await a.published(owner);
    expect((await h.ok<{ course: any }>(READ, { id: c.id }, other)).course).toEqual({
      id: c.id,
      hasUnpublishedChanges: null,
      draft: null,
    });
    expect((await h.ok<{ course: any }>(READ, { id: c.id }, admin)).course).toMatchObject({
      hasUnpublishedChanges: false,
      draft: { lessonCount: 2 },
    });
  });

  it('myCourses lists only the caller’s own courses, drafts included, by status, page by page', async () => {
    const me = await h.actor('INSTRUCTOR');
    const draft = await a.createCourse(me);
    const live = await a.published(me);
    const gone = await a.published(me);
    await h.ok(`mutation($id: ID!) { archiveCourse(courseId: $id) { id } }`, { id: gone.id }, me);
    await a.createCourse(other);
    const MINE = `query($s: CourseStatus, $first: Int, $after: String) { myCourses(status: $s, first: $first, after: $after) {
      totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;
    const all = (await h.ok<{ myCourses: any }>(MINE, {}, me)).myCourses;
    expect(all.totalCount).toBe(3);
    expect(all.edges.map((e: any) => [e.node.id, e.node.status])).toEqual([
      [gone.id, 'ARCHIVED'],
      [live.id, 'PUBLISHED'],
      [draft.id, 'DRAFT'],
    ]);
    for (const [status, id] of [
      ['DRAFT', draft.id],
      ['PUBLISHED', live.id],
      ['ARCHIVED', gone.id],
    ]) {
      const page = (await h.ok<{ myCourses: any }>(MINE, { s: status }, me)).myCourses;
      expect(page.edges.map((e: any) => e.node.id)).toEqual([id]);
    }
    const first = (await h.ok<{ myCourses: any }>(MINE, { first: 2 }, me)).myCourses;
    const second = (await h.ok<{ myCourses: any }>(MINE, { first: 2, after: first.pageInfo.endCursor }, me)).myCourses;
    expect([...first.edges, ...second.edges].map((e: any) => e.node.id)).toEqual(all.edges.map((e: any) => e.node.id));
    expect([first.pageInfo.hasNextPage, second.pageInfo.hasNextPage]).toEqual([true, false]);
    expect(errorCode(await h.gql(MINE, {}, learner))).toBe('FORBIDDEN');
    expect(errorCode(await h.gql(MINE, {}))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.gql(MINE, { after: 'bogus' }, me))).toBe('BAD_USER_INPUT');
  });
});
