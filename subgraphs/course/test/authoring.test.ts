import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '@coursegraph/test-support';
import {
  authoring,
  COURSE_FIELDS,
  DRAFT_FIELDS,
  outboxFor,
  startCourse,
  uniq,
  type Actor,
  type CourseHarness,
} from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let owner: Actor;
beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  owner = await h.actor('INSTRUCTOR');
});
afterAll(async () => {
  await h.close();
});

const draftOf = async (courseId: string, actor: Actor = owner) =>
  (
    await h.ok<{ course: any }>(
      `query($id: ID!) { course(id: $id) { ${COURSE_FIELDS} ${DRAFT_FIELDS} } }`,
      { id: courseId },
      actor,
    )
  ).course;

describe('creating a course', () => {
  it('creates a draft owned by the instructor, normalising its fields', async () => {
    const title = `Intro to SQL ${uniq()}`;
    const course = await a.createCourse(owner, {
      title: `  ${title} `,
      summary: 'Tables, joins and more.',
      tags: ['SQL', ' Databases ', 'sql', 'c++'],
      language: 'EN',
      level: 'INTERMEDIATE',
      category: 'data-science',
      price: { amountMinor: 1900, currency: 'USD' },
    });
    expect(course).toMatchObject({
      title,
      slug: expect.stringMatching(/^intro-to-sql-t-[0-9a-f]{8}$/),
      status: 'DRAFT',
      version: 0,
      publishedAt: null,
      hasUnpublishedChanges: true,
      tags: ['sql', 'databases', 'c++'],
      language: 'en',
      level: 'INTERMEDIATE',
      category: { slug: 'data-science', name: 'Data Science' },
      price: { amountMinor: 1900, currency: 'USD' },
      isFree: false,
      instructor: { id: owner.userId },
      modules: [],
      moduleCount: 0,
      lessonCount: 0,
    });
    expect(course.draft).toMatchObject({ title, moduleCount: 0, lessonCount: 0 });
    // Contexts where instructors author before publication (learning) learn the owner from this event.
    const events = await outboxFor(h, course.id, undefined, { withCreated: true });
    expect(events.map((e) => [e.subject, e.payload.instructorId])).toEqual([['course.course.created', owner.userId]]);
  });

  it('defaults to free and derives readable slugs, also from Cyrillic titles, made unique when taken', async () => {
    const word = uniq('osnovy');
    const first = await a.createCourse(owner, { title: `Основы ${word}` });
    expect(first.slug).toBe(`osnovy-${word}`);
    expect(first.price).toEqual({ amountMinor: 0, currency: 'USD' });
    expect(first.isFree).toBe(true);
    const second = await a.createCourse(owner, { title: `Основы ${word}` });
    expect(second.slug).toMatch(new RegExp(`^osnovy-${word}-[0-9a-f]{8}$`));
  });

  it('refuses an explicit slug that another course uses, creating nothing', async () => {
    const slug = uniq('taken');
    await a.createCourse(owner, { slug });
    const title = `Dup ${uniq()}`;
    const res = await h.gql(
      `mutation($input: CreateCourseInput!) { createCourse(input: $input) { id } }`,
      { input: { title, slug, category: 'design', level: 'BEGINNER', language: 'en' } },
      owner,
    );
    expect(errorCode(res)).toBe('CONFLICT');
    expect(res.body.errors![0]!.extensions!.field).toBe('slug');
    expect(await h.app.db.course.count({ where: { title } })).toBe(0);
  });
});

describe('editing the outline', () => {
  it('adds, inserts, moves and removes modules and lessons, keeping positions contiguous', async () => {
    const course = await a.createCourse(owner);
    const m1 = await a.addModule(owner, course.id, 'Basics');
    const m3 = await a.addModule(owner, course.id, 'Advanced');
    const m2 = await a.addModule(owner, course.id, 'Middle', { position: 1 });
    expect([m1.position, m2.position]).toEqual([0, 1]);
    const l1 = await a.addLesson(owner, m1.id, { title: 'Welcome', kind: 'VIDEO', body: '', durationSeconds: 300 });
    const l2 = await a.addLesson(owner, m1.id, { title: 'Reading' });
    const l0 = await a.addLesson(owner, m1.id, { title: 'Before all', kind: 'QUIZ', position: 0, required: false });
    expect(l0).toMatchObject({ position: 0, module: { id: m1.id }, course: { id: course.id } });

    let draft = (await draftOf(course.id)).draft;
    expect(draft.modules.map((m: any) => [m.title, m.position])).toEqual([
      ['Basics', 0],
      ['Middle', 1],
      ['Advanced', 2],
    ]);
    expect(draft.modules[0].lessons.map((l: any) => [l.title, l.position])).toEqual([
      ['Before all', 0],
      ['Welcome', 1],
      ['Reading', 2],
    ]);
    expect(draft.modules[0].lessons[0]).toMatchObject({ kind: 'QUIZ', required: false });
    expect(draft.modules[0].lessons[1]).toMatchObject({ kind: 'VIDEO', durationSeconds: 300, required: true });

    await h.ok(
      `mutation($input: MoveModuleInput!) { moveModule(input: $input) { id } }`,
      { input: { moduleId: m3.id, position: 0 } },
      owner,
    );
    await h.ok(
      `mutation($input: MoveLessonInput!) { moveLesson(input: $input) { id } }`,
      { input: { lessonId: l0.id, position: 2 } },
      owner,
    );
    await h.ok(
      `mutation($input: MoveLessonInput!) { moveLesson(input: $input) { id } }`,
      { input: { lessonId: l2.id, moduleId: m3.id, position: 0 } },
      owner,
    );
    draft = (await draftOf(course.id)).draft;
    expect(draft.modules.map((m: any) => m.title)).toEqual(['Advanced', 'Basics', 'Middle']);
    expect(draft.modules[0].lessons.map((l: any) => l.title)).toEqual(['Reading']);
    expect(draft.modules[1].lessons.map((l: any) => [l.title, l.position])).toEqual([
      ['Welcome', 0],
      ['Before all', 1],
    ]);

    await h.ok(`mutation($id: ID!) { removeLesson(lessonId: $id) { id } }`, { id: l1.id }, owner);
    const removed = await h.ok<{ removeModule: any }>(
      `mutation($id: ID!) { removeModule(moduleId: $id) { ${DRAFT_FIELDS} } }`,
      { id: m3.id },
      owner,
    );
    draft = removed.removeModule.draft;
    expect(draft.modules.map((m: any) => [m.title, m.position])).toEqual([
      ['Basics', 0],
      ['Middle', 1],
    ]);
    expect(draft.modules[0].lessons.map((l: any) => [l.title, l.position])).toEqual([['Before all', 0]]);
    expect(draft.lessonCount).toBe(1);
    expect(await h.app.db.lesson.count({ where: { id: l2.id } })).toBe(0);
  });

  it('updates course fields, modules and lessons; omitted fields stay', async () => {
    const course = await a.createCourse(owner, { summary: 'Old summary', tags: ['keep'] });
    const mod = await a.addModule(owner, course.id, 'Old module');
    const lesson = await a.addLesson(owner, mod.id, { title: 'Old lesson' });
    const slug = uniq('renamed');
    const updated = await h.ok<{ updateCourse: any }>(
      `mutation($input: UpdateCourseInput!) { updateCourse(input: $input) { ${COURSE_FIELDS} } }`,
      {
        input: {
          courseId: course.id,
          title: 'A new title',
          slug,
          price: { amountMinor: 4900, currency: 'EUR' },
          level: 'ADVANCED',
          language: 'pt-br',
        },
      },
      owner,
    );
    expect(updated.updateCourse).toMatchObject({
      title: 'A new title',
      slug,
      summary: 'Old summary',
      tags: ['keep'],
      price: { amountMinor: 4900, currency: 'EUR' },
      level: 'ADVANCED',
      language: 'pt-BR',
    });
    const m = await h.ok<{ updateModule: any }>(
      `mutation($input: UpdateModuleInput!) { updateModule(input: $input) { title summary } }`,
      { input: { moduleId: mod.id, title: 'New module', summary: 'About it' } },
      owner,
    );
    expect(m.updateModule).toEqual({ title: 'New module', summary: 'About it' });
    const l = await h.ok<{ updateLesson: any }>(
      `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { title kind durationSeconds body required } }`,
      { input: { lessonId: lesson.id, kind: 'VIDEO', durationSeconds: 600, required: false } },
      owner,
    );
    expect(l.updateLesson).toEqual({
      title: 'Old lesson',
      kind: 'VIDEO',
      durationSeconds: 600,
      body: 'Some text.',
      required: false,
    });
    // The old slug is free again; the new one finds the draft for its owner.
    await a.createCourse(owner, { slug: course.slug });
    expect(
      (await h.ok<{ course: any }>(`query($s: String!) { course(slug: $s) { id } }`, { s: slug }, owner)).course.id,
    ).toBe(course.id);
  });
});
