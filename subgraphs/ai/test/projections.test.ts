/**
 * AI's projections of other contexts, applied through its own handlers on the test database as its
 * consumers apply them: a publication cuts each lesson's text into passages (again only for lessons
 * whose text changed), captions in the course's language join them, enrolments decide who reaches
 * which lessons, open attempts protect their answers until closed (whatever order the events come
 * in), and every process's retrieval index follows the passages.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import {
  CourseEvents,
  EnrollmentEvents,
  LearningEvents,
  VideoEvents,
  course as courses,
  enrollment,
} from '@coursegraph/contracts';
import type { EventType, ReceivedEvent } from '@coursegraph/service-kit';
import { contextDatabaseUrl } from '@coursegraph/test-support';
import { createDb, type PrismaClient } from '../src/data/db.js';
import { createRetrievalIndex } from '../src/data/retrieval-index.js';
import { readableLessons } from '../src/domain/access.js';
import { createHashedEmbedding } from '../src/domain/retrieval/hashed-embedding.js';
import { consumers } from '../src/events/consumers.js';

let db: PrismaClient;
let sequence = 1;

beforeAll(() => {
  db = createDb(contextDatabaseUrl('ai'), 2);
});
afterAll(async () => {
  await db?.$disconnect();
});

/** Applies one event through the consumer that reads its stream, in one transaction, as the consumer does. */
async function apply<E extends EventType>(type: E, payload: ReceivedEvent<E>['payload']): Promise<void> {
  const handler = Object.values(consumers)
    .flatMap((c) => c.handlers)
    .find((h) => h.type === type);
  if (!handler) throw new Error(`no ai handler for ${type.subject}`);
  const event: ReceivedEvent = {
    id: randomUUID(),
    type: type.subject,
    source: type.subject.split('.')[0]!,
    time: new Date().toISOString(),
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    streamSequence: sequence++,
    deliveryCount: 1,
    payload,
  };
  await db.$transaction((tx) => handler.handle(tx, event));
}

const GOROUTINES =
  'A goroutine is a function running concurrently with the rest of the program, started with the go keyword.\n\n' +
  'Goroutines are cheap: a program may run thousands of them, multiplexed onto a few operating system threads.';
const CHANNELS =
  'A channel is a typed conduit through which goroutines send and receive values, created with make(chan int).\n\n' +
  'Receiving from a closed channel returns the zero value at once, which is how a range loop over a channel ends.';

function snapshot(
  courseId: string,
  instructorId: string,
  version: number,
  lessons: { id: string; body: string; preview?: boolean }[],
) {
  return create(courses.CourseSnapshotSchema, {
    courseId,
    version,
    instructorId,
    title: 'Concurrency in Go',
    category: 'programming',
    tags: ['go'],
    language: 'en',
    price: { amountMinor: 2_900n, currency: 'USD' },
    publishedAt: new Date().toISOString(),
    lessons: lessons.map((l, position) => ({
      lessonId: l.id,
      position,
      required: true,
      title: `Lesson ${position + 1}`,
      kind: courses.LessonKind.ARTICLE,
      bodyText: l.body,
      freePreview: l.preview ?? false,
    })),
  });
}

const passagesOf = async (lessonId: string, source = 'LESSON') =>
  db.passage.findMany({ where: { lessonId, source }, orderBy: { ordinal: 'asc' } });

describe("ai's projections", () => {
  const courseId = randomUUID();
  const instructorId = randomUUID();
  const preview = randomUUID();
  const paid = randomUUID();

  it('cuts each published lesson into passages, and re-cuts only a lesson whose text changed', async () => {
    await apply(CourseEvents.published, {
      course: snapshot(courseId, instructorId, 1, [
        { id: preview, body: GOROUTINES, preview: true },
        { id: paid, body: CHANNELS },
      ]),
    });
    const course = await db.course.findUniqueOrThrow({ where: { id: courseId } });
    expect(course).toMatchObject({ instructorId, publishedVersion: 1, free: false, language: 'en' });
    expect(course.subject).toContain('go');
    const first = await passagesOf(paid);
    expect(first.map((p) => p.text)).toEqual(CHANNELS.split('\n\n'));
    const versionBefore = course.passagesVersion;

    // Version 2 changes the preview's text only: the paid lesson's passages are the same rows.
    await apply(CourseEvents.updated, {
      course: snapshot(courseId, instructorId, 2, [
        { id: preview, body: `${GOROUTINES}\n\nA goroutine's stack starts small and grows as needed.`, preview: true },
        { id: paid, body: CHANNELS },
      ]),
    });
    expect((await passagesOf(preview)).map((p) => p.text).join(' ')).toContain('stack starts small');
    expect((await passagesOf(paid)).map((p) => p.id)).toEqual(first.map((p) => p.id));
    const after = await db.course.findUniqueOrThrow({ where: { id: courseId } });
    expect(after.passagesVersion).toBe(versionBefore + 1);

    // An older publication redelivered changes nothing.
    await apply(CourseEvents.published, {
      course: snapshot(courseId, instructorId, 1, [{ id: preview, body: 'old' }]),
    });
    expect((await db.course.findUniqueOrThrow({ where: { id: courseId } })).publishedVersion).toBe(2);
    expect((await passagesOf(preview)).map((p) => p.text).join(' ')).toContain('stack starts small');
  });

  it("keeps captions in the course's language as timed passages, and ignores other languages", async () => {
    const segment = (start: number, text: string) => ({
      startMs: BigInt(start * 1000),
      endMs: BigInt(start * 1000 + 4000),
      text,
    });
    await apply(VideoEvents.captionsChanged, {
      videoId: randomUUID(),
      lessonId: paid,
      courseId,
      languages: ['en', 'de'],
      language: 'en-GB',
      segments: [
        segment(0, 'Today we look at buffered channels, which let a sender run ahead of its receiver for a while.'),
        segment(40, 'A buffered channel holds values until they are received, up to the capacity given to make.'),
      ],
      changedAt: new Date().toISOString(),
    });
    const captions = await passagesOf(paid, 'CAPTION');
    expect(captions.map((p) => p.startsAtSeconds)).toEqual([0, 40]);
    await apply(VideoEvents.captionsChanged, {
      videoId: randomUUID(),
      lessonId: paid,
      courseId,
      languages: ['en', 'de'],
      language: 'de',
      segments: [segment(0, 'Heute geht es um Kanäle.')],
      changedAt: new Date().toISOString(),
    });
    expect((await passagesOf(paid, 'CAPTION')).map((p) => p.text)).toEqual(captions.map((p) => p.text));
  });

  it('retrieves from the lessons a learner may read: an audit of the paid course reaches the preview only', async () => {
    const learner = randomUUID();
    const auditor = randomUUID();
    await apply(EnrollmentEvents.created, {
      enrollmentId: randomUUID(),
      userId: learner,
      courseId,
      mode: enrollment.EnrollmentMode.PAID,
    });
    await apply(EnrollmentEvents.created, {
      enrollmentId: randomUUID(),
      userId: auditor,
      courseId,
      mode: enrollment.EnrollmentMode.AUDIT,
    });
    const course = await db.course.findUniqueOrThrow({ where: { id: courseId } });
    const viewer = (userId: string) => ({
      userId,
      role: 'LEARNER' as const,
      sessionId: randomUUID(),
      issuedAtMs: Date.now(),
    });
    expect(await readableLessons(db, viewer(learner), course)).toBe('all');
    expect(await readableLessons(db, viewer(auditor), course)).toEqual(new Set([preview]));

    const index = createRetrievalIndex(db, createHashedEmbedding());
    const ask = async (allowed: ReadonlySet<string> | 'all') =>
      index.search({
        courseId,
        lessonId: preview,
        query: 'what happens when I receive from a closed channel?',
        k: 3,
        allowedLessonIds: allowed,
      });
    const full = await ask('all');
    expect(full[0]!.passage.text).toContain('closed channel');
    const audited = await ask(await readableLessons(db, viewer(auditor), course));
    expect(audited.length).toBeGreaterThan(0);
    for (const hit of audited) expect(hit.passage.lessonId).toBe(preview);

    // A refund's revocation takes the paid lessons away; the passages were embedded once and kept.
    await apply(EnrollmentEvents.revoked, {
      enrollmentId: randomUUID(),
      userId: learner,
      courseId,
      reason: 'REFUNDED',
      revokedAt: new Date().toISOString(),
    });
    expect(await readableLessons(db, viewer(learner), course)).toEqual(new Set([preview]));
    const stored = await db.passage.findMany({ where: { courseId } });
    expect(stored.every((p) => p.embeddingModel === 'hashed-384' && p.embedding.length === 384 * 4)).toBe(true);

    // A new publication moves the version: the same index serves the new text without a restart.
    await apply(CourseEvents.updated, {
      course: snapshot(courseId, instructorId, 3, [
        { id: preview, body: GOROUTINES, preview: true },
        { id: paid, body: `${CHANNELS}\n\nA nil channel blocks forever on both send and receive.` },
      ]),
    });
    const fresh = await index.search({
      courseId,
      lessonId: paid,
      query: 'nil channel blocks',
      k: 1,
      allowedLessonIds: 'all',
    });
    expect(fresh[0]!.passage.text).toContain('nil channel');
  });

  it('protects the answers of an open attempt until it closes, whichever event comes first', async () => {
    const userId = randomUUID();
    const lessonId = randomUUID();
    const started = (attemptId: string) =>
      apply(LearningEvents.attemptStarted, {
        attemptId,
        userId,
        courseId,
        lessonId,
        protectedAnswers: ['go', 'channel'],
        closesAt: '',
        startedAt: new Date().toISOString(),
      });
    const closed = (attemptId: string) =>
      apply(LearningEvents.attemptClosed, {
        attemptId,
        userId,
        courseId,
        lessonId,
        closedAt: new Date().toISOString(),
      });
    const open = async () =>
      (await db.openAttempt.findMany({ where: { userId, closedAt: null } })).flatMap((a) => a.protectedAnswers);

    const a = randomUUID();
    await started(a);
    expect(await open()).toEqual(['go', 'channel']);
    await closed(a);
    expect(await open()).toEqual([]);
    // Closed first, then the start redelivered: the attempt stays closed.
    const b = randomUUID();
    await closed(b);
    await started(b);
    expect(await open()).toEqual([]);
  });
});
