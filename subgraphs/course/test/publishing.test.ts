import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { course as pb } from '@coursegraph/contracts';
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
let learner: Actor;
beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  owner = await h.actor('INSTRUCTOR');
  learner = await h.actor('LEARNER');
});
afterAll(async () => {
  await h.close();
});

const read = async (courseId: string, actor?: Actor) =>
  (await h.ok<{ course: any }>(`query($id: ID!) { course(id: $id) { ${COURSE_FIELDS} } }`, { id: courseId }, actor))
    .course;
const UPDATE_LESSON = `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { id } }`;

describe('publishing', () => {
  it('publishes version 1: learners see it, and the outbox gets one decodable published event', async () => {
    const c = await a.publishable(
      owner,
      { title: `Published ${uniq()}`, price: { amountMinor: 2900, currency: 'USD' }, tags: ['go'] },
      2,
      2,
    );
    expect(await read(c.id, learner)).toBeNull();
    const res = await a.publish(owner, c.id);
    expect(res.body.errors).toBeUndefined();
    const published = res.body.data!.publishCourse;
    expect(published).toMatchObject({
      status: 'PUBLISHED',
      version: 1,
      moduleCount: 2,
      lessonCount: 4,
      hasUnpublishedChanges: false,
    });
    expect(published.publishedAt).toBe(published.firstPublishedAt);

    const seen = await read(c.id, learner);
    expect(seen).toMatchObject({
      id: c.id,
      status: 'PUBLISHED',
      version: 1,
      hasUnpublishedChanges: null,
      lessonCount: 4,
    });
    expect(seen.modules.flatMap((m: any) => m.lessons.map((l: any) => l.id))).toEqual(c.lessonIds);
    expect(await read(c.id)).toMatchObject({ id: c.id }); // anonymous too

    const events = await outboxFor(h, c.id);
    expect(events.map((e) => e.subject)).toEqual(['course.course.published']);
    const snapshot = events[0]!.payload.course;
    expect(snapshot).toMatchObject({
      courseId: c.id,
      version: 1,
      instructorId: owner.userId,
      slug: c.slug,
      level: pb.CourseLevel.BEGINNER,
      language: 'en',
      tags: ['go'],
      price: { amountMinor: 2900n, currency: 'USD' },
      publishedAt: published.publishedAt,
    });
    expect(snapshot.lessons.map((l: any) => [l.lessonId, l.position, l.moduleTitle])).toEqual([
      [c.lessonIds[0], 0, 'Module 1'],
      [c.lessonIds[1], 1, 'Module 1'],
      [c.lessonIds[2], 2, 'Module 2'],
      [c.lessonIds[3], 3, 'Module 2'],
    ]);
    expect(events[0]!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
  });

  it('keeps learners on version 1 while version 2 is drafted, then republishes with updated and lessonChanged events', async () => {
    const c = await a.published(owner, { title: `Versioned ${uniq()}` }, 1, 3);
    const [keep, change, drop] = c.lessonIds as [string, string, string];

    await h.ok(
      `mutation($input: UpdateCourseInput!) { updateCourse(input: $input) { id } }`,
      { input: { courseId: c.id, title: 'Version two' } },
      owner,
    );
    await h.ok(UPDATE_LESSON, { input: { lessonId: change, body: 'Rewritten.' } }, owner);
    await h.ok(`mutation($id: ID!) { removeLesson(lessonId: $id) { id } }`, { id: drop }, owner);
    const added = await a.addLesson(owner, c.moduleIds[0]!, { title: 'Brand new', kind: 'QUIZ', body: '' });

    // Learners (and the course's own fields) still show version 1; the owner sees the draft too.
    const learnerView = await read(c.id, learner);
    expect(learnerView.title).not.toBe('Version two');
    expect(learnerView.modules[0].lessons.map((l: any) => l.id)).toEqual([keep, change, drop]);
    const ownerView = (
      await h.ok<{ course: any }>(
        `query($id: ID!) { course(id: $id) { title hasUnpublishedChanges ${DRAFT_FIELDS} } }`,
        { id: c.id },
        owner,
      )
    ).course;
    expect(ownerView).toMatchObject({
      title: learnerView.title,
      hasUnpublishedChanges: true,
      draft: { title: 'Version two', lessonCount: 3 },
    });
    expect(
      errorCode(await h.gql(`query($id: ID!) { course(id: $id) { draft { title } } }`, { id: c.id }, learner)),
    ).toBeUndefined();
    expect(
      (await h.ok<{ course: any }>(`query($id: ID!) { course(id: $id) { draft { title } } }`, { id: c.id }, learner))
        .course.draft,
    ).toBeNull();

    const res = await a.publish(owner, c.id);
    expect(res.body.data!.publishCourse).toMatchObject({
      version: 2,
      title: 'Version two',
      hasUnpublishedChanges: false,
      lessonCount: 3,
    });
    expect((await read(c.id, learner)).modules[0].lessons.map((l: any) => l.id)).toEqual([keep, change, added.id]);

    const events = await outboxFor(h, c.id);
    expect(events.map((e) => e.subject)).toEqual([
      'course.course.published',
      'course.course.updated',
      'course.lesson.changed',
      'course.lesson.changed',
      'course.lesson.changed',
    ]);
    expect(events[1]!.payload.course).toMatchObject({ version: 2, title: 'Version two' });
    const changes = events.slice(2).map((e) => [e.payload.change, e.payload.lesson.lessonId, e.payload.courseVersion]);
    expect(changes).toEqual([
      [pb.LessonChange.UPDATED, change, 2],
      [pb.LessonChange.ADDED, added.id, 2],
      [pb.LessonChange.REMOVED, drop, 2],
    ]);
    expect(events[2]!.payload.lesson).toMatchObject({ bodyText: 'Rewritten.', position: 1 });
    // Both versions stay stored, immutable.
    const versions = await h.app.db.courseVersion.findMany({ where: { courseId: c.id }, orderBy: { version: 'asc' } });
    expect(versions.map((v) => [v.version, (v.snapshot as any).title])).toEqual([
      [1, learnerView.title],
      [2, 'Version two'],
    ]);
  });

  it('does nothing when republishing without changes', async () => {
    const c = await a.published(owner);
    const before = await outboxFor(h, c.id);
    const res = await a.publish(owner, c.id);
    expect(res.body.data!.publishCourse).toMatchObject({ version: 1, publishedAt: c.course.publishedAt });
    expect(await outboxFor(h, c.id)).toEqual(before);
    expect(before).toHaveLength(1);
  });

  it('refuses a course that is not ready, writing no version and no event', async () => {
    const empty = await a.createCourse(owner);
    const noModules = await a.publish(owner, empty.id);
    expect(errorCode(noModules)).toBe('BAD_USER_INPUT');
    expect(noModules.body.errors![0]!.extensions!.field).toBe('modules');

    const c = await a.publishable(owner);
    await a.addModule(owner, c.id, 'Empty module');
    const emptyModule = await a.publish(owner, c.id);
    expect(errorCode(emptyModule)).toBe('BAD_USER_INPUT');
    expect(emptyModule.body.errors![0]!.message).toMatch(/Empty module/);

    const d = await a.publishable(owner);
    const bare = await a.addLesson(owner, d.moduleIds[0]!, { title: 'Bare article', body: '   ' });
    const noBody = await a.publish(owner, d.id);
    expect(noBody.body.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'lessons' } });
    await h.ok(UPDATE_LESSON, { input: { lessonId: bare.id, kind: 'VIDEO' } }, owner);

    for (const id of [empty.id, c.id]) {
      expect(await h.app.db.courseVersion.count({ where: { courseId: id } })).toBe(0);
      expect(await h.app.db.publishedCourse.count({ where: { courseId: id } })).toBe(0);
      expect(await outboxFor(h, id)).toEqual([]);
    }
    // Fixed, it publishes.
    expect((await a.publish(owner, d.id)).body.data!.publishCourse.version).toBe(1);
  });
});

describe('atomicity', () => {
  it('a publication whose event cannot be written is rolled back as a whole', async () => {
    const c = await a.publishable(owner);
    const viewer = { userId: owner.userId, role: 'INSTRUCTOR' as const, sessionId: 'test', issuedAtMs: Date.now() };
    // The version, catalog row and indexes are written before the event; an invalid traceparent
    // makes the event write fail last.
    await expect(h.app.publishing.publish(viewer, c.id, { traceparent: 'not-a-traceparent' })).rejects.toThrow(
      /traceparent/,
    );
    expect(await h.app.db.courseVersion.count({ where: { courseId: c.id } })).toBe(0);
    expect(await h.app.db.publishedCourse.count({ where: { courseId: c.id } })).toBe(0);
    expect(await h.app.db.publishedItem.count({ where: { courseId: c.id } })).toBe(0);
    expect(await outboxFor(h, c.id)).toEqual([]);
  });
});

describe('archiving', () => {
  it('takes the course out of the catalog, keeps it readable by id, emits archived once, and can offer it again', async () => {
    const c = await a.published(owner, { title: `Archived ${uniq()}` });
    const ARCHIVE = `mutation($id: ID!) { archiveCourse(courseId: $id) { status archivedAt version } }`;
    const first = (await h.ok<{ archiveCourse: any }>(ARCHIVE, { id: c.id }, owner)).archiveCourse;
    expect(first).toMatchObject({ status: 'ARCHIVED', version: 1 });
    const again = (await h.ok<{ archiveCourse: any }>(ARCHIVE, { id: c.id }, owner)).archiveCourse;
    expect(again.archivedAt).toBe(first.archivedAt);
    expect(await read(c.id, learner)).toMatchObject({ status: 'ARCHIVED', lessonCount: 2 });
    const catalog = await h.ok<{ catalog: any }>(`query($f: CatalogFilter) { catalog(filter: $f) { totalCount } }`, {
      f: { instructorId: owner.userId },
    });
    const listed = await h.app.db.publishedCourse.count({ where: { instructorId: owner.userId, archivedAt: null } });
    expect(catalog.catalog.totalCount).toBe(listed);

    const events = (await outboxFor(h, c.id)).slice(1);
    expect(events.map((e) => e.subject)).toEqual(['course.course.archived']);
    expect(events[0]!.payload).toMatchObject({ courseId: c.id, archivedAt: first.archivedAt });

    const back = await a.publish(owner, c.id);
    expect(back.body.data!.publishCourse).toMatchObject({ status: 'PUBLISHED', version: 2, archivedAt: null });
    expect((await outboxFor(h, c.id)).map((e) => e.subject)).toEqual([
      'course.course.published',
      'course.course.archived',
      'course.course.updated',
    ]);
  });

  it('refuses to archive a course that was never published', async () => {
    const c = await a.createCourse(owner);
    const res = await h.gql(`mutation($id: ID!) { archiveCourse(courseId: $id) { id } }`, { id: c.id }, owner);
    expect(errorCode(res)).toBe('CONFLICT');
  });
});

describe('traces', () => {
  it("carries the caller's traceparent into the events", async () => {
    const c = await a.publishable(owner);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await h.app.yoga.fetch('http://course.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}`, traceparent },
      body: JSON.stringify({
        query: `mutation($id: ID!) { publishCourse(courseId: $id) { version } }`,
        variables: { id: c.id },
      }),
    });
    expect(res.status).toBe(200);
    expect((await outboxFor(h, c.id)).map((e) => e.traceparent)).toEqual([traceparent]);
  });
});
