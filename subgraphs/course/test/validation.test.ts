/** Bad input on every mutation: BAD_USER_INPUT naming the field, and nothing changed (re-read). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '@coursegraph/test-support';
import {
  authoring,
  COURSE_FIELDS,
  DRAFT_FIELDS,
  startCourse,
  uniq,
  type Actor,
  type CourseHarness,
} from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let owner: Actor;
let course: { id: string; moduleIds: string[]; lessonIds: string[] };
let foreignModuleId: string;
beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  owner = await h.actor('INSTRUCTOR');
  course = await a.published(owner, { title: `Validated ${uniq()}` }, 2, 2);
  foreignModuleId = (await a.publishable(owner)).moduleIds[0]!;
});
afterAll(async () => {
  await h.close();
});

const snapshot = async () =>
  (
    await h.ok<{ course: any }>(
      `query($id: ID!) { course(id: $id) { ${COURSE_FIELDS} ${DRAFT_FIELDS} } }`,
      { id: course.id },
      owner,
    )
  ).course;

const long = (n: number) => 'x'.repeat(n);
const CREATE_BASE = { title: 'A fine title', category: 'programming', level: 'BEGINNER', language: 'en' };

describe('createCourse', () => {
  it.each<[Record<string, unknown>, string]>([
    [{ title: 'ab' }, 'title'],
    [{ title: long(121) }, 'title'],
    [{ title: 'Two\nlines' }, 'title'],
    [{ slug: 'Not A Slug' }, 'slug'],
    [{ slug: 'a-' }, 'slug'],
    [{ summary: long(301) }, 'summary'],
    [{ description: `${long(10)}\u0000` }, 'description'],
    [{ category: 'astrology' }, 'category'],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    [{ tags: [long(41)] }, 'tags'],
    [{ tags: ['!!'] }, 'tags'],
    [{ language: 'english!' }, 'language'],
    [{ language: '' }, 'language'],
    [{ price: { amountMinor: 100, currency: 'usd' } }, 'price.currency'],
    [{ price: { amountMinor: -1, currency: 'USD' } }, 'price.amountMinor'],
    [{ price: { amountMinor: 100_000_001, currency: 'USD' } }, 'price.amountMinor'],
  ])('refuses %j (field %s) and creates nothing', async (override, field) => {
    const marker = `Bad ${uniq()}`;
    const input = { ...CREATE_BASE, summary: marker, ...override };
    const res = await h.gql(`mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`, { i: input }, owner);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe(field);
    expect(await h.app.db.course.count({ where: { summary: marker } })).toBe(0);
  });

  it('refuses an unknown enum value at validation', async () => {
    const res = await h.gql(
      `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
      { i: { ...CREATE_BASE, level: 'EXPERT' } },
      owner,
    );
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
  });
});

describe('draft mutations', () => {
  const cases = (): [string, string, Record<string, unknown>, string][] => {
    const [m1, m2] = course.moduleIds as [string, string];
    const [l1] = course.lessonIds as [string];
    const U = `mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }`;
    const AM = `mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`;
    const UM = `mutation($i: UpdateModuleInput!) { updateModule(input: $i) { id } }`;
    const MM = `mutation($i: MoveModuleInput!) { moveModule(input: $i) { id } }`;
    const AL = `mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`;
    const UL = `mutation($i: UpdateLessonInput!) { updateLesson(input: $i) { id } }`;
    const ML = `mutation($i: MoveLessonInput!) { moveLesson(input: $i) { id } }`;
    const SP = `mutation($id: ID!, $p: [ID!]!) { setPrerequisites(courseId: $id, prerequisiteIds: $p) { id } }`;
    return [
      ['updateCourse', U, { i: { courseId: 'nope', title: 'Fine title' } }, 'courseId'],
      ['updateCourse', U, { i: { courseId: course.id, title: '  ' } }, 'title'],
      ['updateCourse', U, { i: { courseId: course.id, title: 'Good title', slug: '--' } }, 'slug'],
      ['updateCourse', U, { i: { courseId: course.id, summary: 'ok', category: 'nope' } }, 'category'],
      ['updateCourse', U, { i: { courseId: course.id, tags: ['ok', ''] } }, 'tags'],
      ['updateCourse', U, { i: { courseId: course.id, language: 'x' } }, 'language'],
      [
        'updateCourse',
        U,
        { i: { courseId: course.id, price: { amountMinor: 5, currency: 'EURO' } } },
        'price.currency',
      ],
      ['updateCourse', U, { i: { courseId: course.id, description: long(20_001) } }, 'description'],
      ['addModule', AM, { i: { courseId: course.id, title: '' } }, 'title'],
      ['addModule', AM, { i: { courseId: course.id, title: 'Ok', summary: long(501) } }, 'summary'],
      ['addModule', AM, { i: { courseId: course.id, title: 'Ok', position: 3 } }, 'position'],
      ['addModule', AM, { i: { courseId: course.id, title: 'Ok', position: -1 } }, 'position'],
      ['updateModule', UM, { i: { moduleId: m1, title: long(121) } }, 'title'],
      ['updateModule', UM, { i: { moduleId: 'x', title: 'Ok' } }, 'moduleId'],
      ['moveModule', MM, { i: { moduleId: m1, position: 2 } }, 'position'],
      ['removeModule', `mutation($id: ID!) { removeModule(moduleId: $id) { id } }`, { id: 'bad' }, 'moduleId'],
      ['addLesson', AL, { i: { moduleId: m1, title: '', kind: 'VIDEO' } }, 'title'],
      ['addLesson', AL, { i: { moduleId: m1, title: 'Ok', kind: 'VIDEO', durationSeconds: -1 } }, 'durationSeconds'],
      [
        'addLesson',
        AL,
        { i: { moduleId: m1, title: 'Ok', kind: 'VIDEO', durationSeconds: 86_401 } },
        'durationSeconds',
      ],
      ['addLesson', AL, { i: { moduleId: m1, title: 'Ok', kind: 'ARTICLE', body: long(100_001) } }, 'body'],
      ['addLesson', AL, { i: { moduleId: m1, title: 'Ok', kind: 'ARTICLE', body: 'nul \u0000' } }, 'body'],
      ['addLesson', AL, { i: { moduleId: m1, title: 'Ok', kind: 'ARTICLE', position: 9 } }, 'position'],
      ['updateLesson', UL, { i: { lessonId: l1, title: long(200) } }, 'title'],
      ['updateLesson', UL, { i: { lessonId: l1, durationSeconds: 100_000 } }, 'durationSeconds'],
      ['moveLesson', ML, { i: { lessonId: l1, position: 2 } }, 'position'],
      ['moveLesson', ML, { i: { lessonId: l1, moduleId: m2, position: 3 } }, 'position'],
      ['moveLesson', ML, { i: { lessonId: l1, moduleId: foreignModuleId, position: 0 } }, 'moduleId'],
      ['moveLesson', ML, { i: { lessonId: l1, moduleId: 'zzz', position: 0 } }, 'moduleId'],
      ['removeLesson', `mutation($id: ID!) { removeLesson(lessonId: $id) { id } }`, { id: '42' }, 'lessonId'],
      ['setPrerequisites', SP, { id: course.id, p: ['not-an-id'] }, 'prerequisiteIds'],
      [
        'setPrerequisites',
        SP,
        { id: course.id, p: Array.from({ length: 21 }, () => crypto.randomUUID()) },
        'prerequisiteIds',
      ],
      ['publishCourse', `mutation($id: ID!) { publishCourse(courseId: $id) { id } }`, { id: 'abc' }, 'courseId'],
      ['archiveCourse', `mutation($id: ID!) { archiveCourse(courseId: $id) { id } }`, { id: 'abc' }, 'courseId'],
    ];
  };

  it('refuse bad input naming the field, and the course (draft and published) is unchanged', async () => {
    const before = await snapshot();
    for (const [name, query, variables, field] of cases()) {
      const res = await h.gql(query, variables, owner);
      expect([name, field, errorCode(res), res.body.errors?.[0]?.extensions?.field]).toEqual([
        name,
        field,
        'BAD_USER_INPUT',
        field,
      ]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answer NOT_FOUND for well-formed ids that name nothing', async () => {
    const id = crypto.randomUUID();
    const res = await h.gql(
      `mutation($i: UpdateLessonInput!) { updateLesson(input: $i) { id } }`,
      { i: { lessonId: id, title: 'x' } },
      owner,
    );
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(errorCode(await h.gql(`mutation($id: ID!) { publishCourse(courseId: $id) { id } }`, { id }, owner))).toBe(
      'NOT_FOUND',
    );
  });

  it('refuse a slug another course holds, even one only published under it', async () => {
    const holder = await a.published(owner, { slug: uniq('holder') });
    await h.ok(
      `mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }`,
      { i: { courseId: holder.id, slug: uniq('moved') } },
      owner,
    );
    const before = await snapshot();
    const res = await h.gql(
      `mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }`,
      { i: { courseId: course.id, slug: holder.slug } },
      owner,
    );
    expect(errorCode(res)).toBe('CONFLICT');
    expect(res.body.errors![0]!.extensions!.field).toBe('slug');
    expect(await snapshot()).toEqual(before);
  });
});
