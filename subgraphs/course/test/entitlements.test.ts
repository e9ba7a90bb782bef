/**
 * Paid content: who reads a lesson's body, on every path into the course subgraph, as the
 * entitlement projection learns enrollment's decisions from events.
 */
import { EnrollmentEvents, enrollment as pb } from '@coursegraph/contracts';
import { newId, type EventHandler, type ReceivedEvent } from '@coursegraph/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tx } from '../src/data/db.js';
import { entitlementHandlers } from '../src/events/entitlements.js';
import { authoring, startCourse, type Actor, type CourseHarness } from './harness.js';

let h: CourseHarness;
let a: ReturnType<typeof authoring>;
let teacher: Actor;
let admin: Actor;
/** A paid course: lesson 0 is a free preview, lessons 1 and 2 are paid. */
let paid: { id: string; lessonIds: string[]; moduleIds: string[] };
let free: { id: string; lessonIds: string[] };
/** The next ENROLLMENT stream position: each test's events come later than the previous test's. */
let sequence = 1_000_000 + Date.now();

beforeAll(async () => {
  h = await startCourse();
  a = authoring(h);
  [teacher, admin] = await Promise.all([h.actor('INSTRUCTOR'), h.actor('ADMIN')]);
  const course = await a.createCourse(teacher, { price: { amountMinor: 4900, currency: 'USD' } });
  const mod = await a.addModule(teacher, course.id);
  const lessonIds = [
    (await a.addLesson(teacher, mod.id, { title: 'Preview', body: 'Preview text.', freePreview: true })).id,
    (await a.addLesson(teacher, mod.id, { title: 'Paid one', body: 'Paid text one.' })).id,
    (await a.addLesson(teacher, mod.id, { title: 'Paid two', body: 'Paid text two.' })).id,
  ];
  expect((await a.publish(teacher, course.id)).body.errors).toBeUndefined();
  paid = { id: course.id, lessonIds, moduleIds: [mod.id] };
  free = await a.published(teacher, { price: { amountMinor: 0, currency: 'USD' } }, 1, 2);
});
afterAll(async () => {
  await h.close();
});

/** Hands an event to the consumer's handler in a transaction, as the consumer would. */
async function deliver<E extends typeof EnrollmentEvents.created | typeof EnrollmentEvents.revoked>(
  type: E,
  payload: Record<string, unknown>,
  streamSequence = sequence++,
): Promise<void> {
  const handler = entitlementHandlers.find((x) => x.type === type) as EventHandler<Tx> | undefined;
  if (!handler) throw new Error(`no handler for ${type.subject}`);
  const event = {
    id: newId(),
    type: type.subject,
    source: 'enrollment',
    time: new Date().toISOString(),
    traceparent: '',
    streamSequence,
    deliveryCount: 1,
    payload,
  };
  await h.app.db.$transaction((tx) => handler.handle(tx, event as ReceivedEvent));
}

const enrolled = (learner: Actor, courseId: string, mode: pb.EnrollmentMode, streamSequence?: number) =>
  deliver(
    EnrollmentEvents.created,
    {
      enrollmentId: newId(),
      userId: learner.userId,
      courseId,
      mode,
      orderId: '',
      enrolledAt: new Date().toISOString(),
    },
    streamSequence,
  );
const revoked = (learner: Actor, courseId: string, reason: string, streamSequence?: number) =>
  deliver(
    EnrollmentEvents.revoked,
    { enrollmentId: newId(), userId: learner.userId, courseId, reason, revokedAt: new Date().toISOString() },
    streamSequence,
  );

const OUTLINE = `query($id: ID!) { course(id: $id) { modules { lessons { id title freePreview locked body } } } }`;

/** Each lesson of the paid course as `title: body` (null when withheld), through Course.modules. */
async function seenThroughCourse(actor?: Actor): Promise<Record<string, string | null>> {
  const data = await h.ok<{ course: any }>(OUTLINE, { id: paid.id }, actor);
  const lessons = data.course.modules.flatMap((m: any) => m.lessons);
  for (const l of lessons) expect(l.locked).toBe(l.body === null);
  return Object.fromEntries(lessons.map((l: any) => [l.title, l.body]));
}

/** The same, through `_entities` (how the gateway reaches a Lesson from search or enrollment). */
async function seenThroughEntities(actor?: Actor): Promise<Record<string, string | null>> {
  const data = await h.ok<{ _entities: any[] }>(
    `query($r: [_Any!]!) { _entities(representations: $r) { ... on Lesson { title body locked } } }`,
    { r: paid.lessonIds.map((id) => ({ __typename: 'Lesson', id })) },
    actor,
  );
  return Object.fromEntries(data._entities.map((l: any) => [l.title, l.body]));
}

const OPEN = { Preview: 'Preview text.', 'Paid one': 'Paid text one.', 'Paid two': 'Paid text two.' };
const PREVIEW_ONLY = { Preview: 'Preview text.', 'Paid one': null, 'Paid two': null };

async function expectSees(actor: Actor | undefined, expected: Record<string, string | null>): Promise<void> {
  expect(await seenThroughCourse(actor)).toEqual(expected);
  expect(await seenThroughEntities(actor)).toEqual(expected);
}

describe('who reads a paid lesson body', () => {
  it('anonymous callers and learners without an entitlement see the outline and the free preview only', async () => {
    await expectSees(undefined, PREVIEW_ONLY);
    await expectSees(await h.actor('LEARNER'), PREVIEW_ONLY);
  });

  it("the course's instructor and admins see everything; another instructor does not", async () => {
    await expectSees(teacher, OPEN);
    await expectSees(admin, OPEN);
    await expectSees(await h.actor('INSTRUCTOR'), PREVIEW_ONLY);
  });

  it('a PAID enrolment opens the course; its revocation closes it again', async () => {
    const learner = await h.actor('LEARNER');
    await enrolled(learner, paid.id, pb.EnrollmentMode.PAID);
    await expectSees(learner, OPEN);
    await revoked(learner, paid.id, 'REFUNDED');
    await expectSees(learner, PREVIEW_ONLY);
    // Paying again opens it again.
    await enrolled(learner, paid.id, pb.EnrollmentMode.PAID);
    await expectSees(learner, OPEN);
  });

  it('an AUDIT enrolment of a paid course is not an entitlement', async () => {
    const learner = await h.actor('LEARNER');
    await enrolled(learner, paid.id, pb.EnrollmentMode.AUDIT);
    await expectSees(learner, PREVIEW_ONLY);
    const row = await h.app.db.entitlement.findUniqueOrThrow({
      where: { userId_courseId: { userId: learner.userId, courseId: paid.id } },
    });
    expect(row).toMatchObject({ basis: 'AUDIT', active: false });
  });

  it("one learner's entitlement opens nothing for another learner or another course", async () => {
    const [holder, other] = await Promise.all([h.actor('LEARNER'), h.actor('LEARNER')]);
    await enrolled(holder, free.id, pb.EnrollmentMode.FREE);
    await expectSees(holder, PREVIEW_ONLY);
    await enrolled(holder, paid.id, pb.EnrollmentMode.PAID);
    await expectSees(other, PREVIEW_ONLY);
  });

  it('a free course is open to everyone', async () => {
    const data = await h.ok<{ course: any }>(OUTLINE, { id: free.id });
    expect(data.course.modules[0].lessons.map((l: any) => [l.body, l.locked])).toEqual([
      ['Some text.', false],
      ['Some text.', false],
    ]);
  });

  it('the catalog withholds paid bodies from anonymous callers, page by page', async () => {
    const data = await h.ok<{ catalog: any }>(
      `query($i: ID!) { catalog(filter: { instructorId: $i, isFree: false }, first: 50) { edges { node { id modules { lessons { title body } } } } } }`,
      { i: (await h.app.db.course.findUniqueOrThrow({ where: { id: paid.id } })).instructorId },
    );
    const node = data.catalog.edges.map((e: any) => e.node).find((n: any) => n.id === paid.id);
    expect(node.modules[0].lessons).toEqual([
      { title: 'Preview', body: 'Preview text.' },
      { title: 'Paid one', body: null },
      { title: 'Paid two', body: null },
    ]);
  });
});

describe('the entitlement projection', () => {
  it('applies decisions in stream order: a late, older event changes nothing, a redelivery changes nothing', async () => {
    const learner = await h.actor('LEARNER');
    const first = sequence++;
    const second = sequence++;
    await revoked(learner, paid.id, 'REFUNDED', second);
    await enrolled(learner, paid.id, pb.EnrollmentMode.PAID, first); // delivered after the revocation that followed it
    await expectSees(learner, PREVIEW_ONLY);
    await revoked(learner, paid.id, 'REFUNDED', second); // redelivered
    const row = await h.app.db.entitlement.findUniqueOrThrow({
      where: { userId_courseId: { userId: learner.userId, courseId: paid.id } },
    });
    expect(row).toMatchObject({ basis: 'REFUNDED', active: false, eventSequence: BigInt(second) });
  });

  it('refuses an event whose ids are not ids, and records nothing', async () => {
    const before = await h.app.db.entitlement.count();
    await expect(
      deliver(EnrollmentEvents.created, {
        enrollmentId: newId(),
        userId: 'me',
        courseId: paid.id,
        mode: pb.EnrollmentMode.PAID,
      }),
    ).rejects.toThrow(/userId/);
    await expect(
      deliver(EnrollmentEvents.created, { enrollmentId: newId(), userId: newId(), courseId: paid.id, mode: 99 }),
    ).rejects.toThrow(/mode/);
    expect(await h.app.db.entitlement.count()).toBe(before);
  });
});

describe('free previews', () => {
  it('are marked by the instructor on the draft and take effect when the course is republished', async () => {
    await h.ok(
      `mutation($i: UpdateLessonInput!) { updateLesson(input: $i) { id } }`,
      { i: { lessonId: paid.lessonIds[2], freePreview: true } },
      teacher,
    );
    // Learners still see the published version until the course is republished.
    expect((await seenThroughCourse())['Paid two']).toBeNull();
    const draft = await h.ok<{ course: any }>(
      `query($id: ID!) { course(id: $id) { hasUnpublishedChanges draft { modules { lessons { title freePreview } } } } }`,
      { id: paid.id },
      teacher,
    );
    expect(draft.course.hasUnpublishedChanges).toBe(true);
    expect(draft.course.draft.modules[0].lessons.map((l: any) => l.freePreview)).toEqual([true, false, true]);
    expect((await a.publish(teacher, paid.id)).body.errors).toBeUndefined();
    expect(await seenThroughCourse()).toEqual({
      Preview: 'Preview text.',
      'Paid one': null,
      'Paid two': 'Paid text two.',
    });
    // Put it back for the other tests' expectations, should they run after this one.
    await h.ok(
      `mutation($i: UpdateLessonInput!) { updateLesson(input: $i) { id } }`,
      { i: { lessonId: paid.lessonIds[2], freePreview: false } },
      teacher,
    );
    expect((await a.publish(teacher, paid.id)).body.errors).toBeUndefined();
    expect(await seenThroughCourse()).toEqual(PREVIEW_ONLY);
  });

  it('are carried on the events consumers index from', async () => {
    const events = await h.app.db.outboxEvent.findMany({
      where: { subject: 'course.lesson.changed' },
      orderBy: { id: 'desc' },
      take: 50,
    });
    expect(events.length).toBeGreaterThan(0);
    const { fromBinary } = await import('@bufbuild/protobuf');
    const { CourseEvents } = await import('@coursegraph/contracts');
    const mine = events
      .map((e) => fromBinary(CourseEvents.lessonChanged.schema, e.payload))
      .filter((e) => e.courseId === paid.id && e.lesson?.lessonId === paid.lessonIds[2]);
    // Newest first: back to paid, then opened as a preview.
    expect(mine.slice(0, 2).map((e) => e.lesson?.freePreview)).toEqual([false, true]);
  });
});
