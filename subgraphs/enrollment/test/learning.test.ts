/**
 * Enrollment follows learning's quizzes: learning.quiz.published tells it which quiz lessons only a
 * pass completes (a projection that never moves backwards), and learning.quiz.passed completes the
 * lesson through the same path as a learner marking it done (progress, enrollment.lesson.completed,
 * course completion, certificate). Learning events are delivered to enrollment's own handlers, in a
 * transaction, as its consumer does; the last test runs the real durable consumer over JetStream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EnrollmentEvents, LearningEvents, course as courseContract, learning } from '@coursegraph/contracts';
import {
  createLogger,
  envelopeHeaders,
  natsConnectOptions,
  newId,
  newTraceparent,
  redriveConsumerName,
  REDRIVE_STREAM,
  startConsumer,
  type EventType,
  type ReceivedEvent,
  prismaTransaction,
} from '@coursegraph/service-kit';
import { errorCode, eventually, withNatsUser } from '@coursegraph/test-support';
import type { Tx } from '../src/data/db.js';
import { applySnapshot } from '../src/events/course-projection.js';
import { consumers } from '../src/events/consumers.js';
import { learningHandlers } from '../src/events/learning.js';
import { startEnrollment, type EnrollmentHarness } from './harness.js';

const ENROL = `mutation($c: ID!, $m: EnrollmentMode) { enrol(courseId: $c, mode: $m) { id status } }`;
const COMPLETE = `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) {
  id status progress { completedLessonIds completedRequired requiredTotal } certificate { publicId revoked } } }`;
const UNENROL = `mutation($c: ID!) { unenrol(courseId: $c) { status } }`;
const MINE = `{ myEnrollments { edges { node { status progress { completedLessonIds } certificate { publicId revoked } } } } }`;

let h: EnrollmentHarness;
beforeAll(async () => {
  h = await startEnrollment();
});
afterAll(async () => {
  await h.close();
});

/** A learning event as the LEARNING consumer hands it to a handler (same id on a redelivery). */
function received<E extends EventType>(type: E, payload: ReceivedEvent<E>['payload']): ReceivedEvent<E> {
  return {
    id: newId(),
    type: type.subject,
    source: 'learning',
    time: new Date().toISOString(),
    traceparent: newTraceparent(),
    streamSequence: 1,
    deliveryCount: 1,
    payload,
  };
}

/** Applies an event with enrollment's learning handler for its type, in a transaction of its own. */
async function deliver(event: ReceivedEvent): Promise<void> {
  const handler = learningHandlers.find((x) => x.type.subject === event.type)!;
  await h.app.db.$transaction((tx) => handler.handle(tx, event));
}

const quizPublished = (
  courseId: string,
  lessonId: string,
  courseVersion: number,
  completionRequiresPass: boolean,
  passScore = 70,
) =>
  received(
    LearningEvents.quizPublished,
    create(learning.QuizPublishedSchema, { courseId, lessonId, courseVersion, passScore, completionRequiresPass }),
  );

const quizPassed = (userId: string, courseId: string, lessonId: string) =>
  received(
    LearningEvents.quizPassed,
    create(learning.QuizPassedSchema, {
      attemptId: randomUUID(),
      userId,
      courseId,
      lessonId,
      score: 85,
      passedAt: new Date().toISOString(),
    }),
  );

/** Everything enrollment holds about a learner: what a refused or ignored event must leave as it was. */
async function stateOf(userId: string) {
  const [enrollments, progress, certificates, outbox] = await Promise.all([
    h.app.db.enrollment.findMany({ where: { userId }, orderBy: { id: 'asc' } }),
    h.app.db.lessonProgress.findMany({ where: { userId }, orderBy: { lessonId: 'asc' } }),
    h.app.db.certificate.findMany({ where: { userId }, orderBy: { id: 'asc' } }),
    Promise.all(Object.values(EnrollmentEvents).map((type) => h.outbox(type, (p) => p.userId === userId))).then(
      (lists) => lists.flat(),
    ),
  ]);
  return { enrollments, progress, certificates, outbox };
}

const lessonEvents = (userId: string) => h.outbox(EnrollmentEvents.lessonCompleted, (p) => p.userId === userId);

describe('a quiz that must be passed', () => {
  it('cannot be marked done by hand: refused with a clear error, and nothing changes', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 2 });
    const quizLesson = lessonIds[1]!;
    await deliver(quizPublished(courseId, quizLesson, 1, true));
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    const before = await stateOf(userId);

    const refused = await h.gql(COMPLETE, { c: courseId, l: quizLesson }, token);
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.body.errors![0]!.message).toBe('Pass the quiz of this lesson to complete it.');
    expect(refused.body.errors![0]!.extensions!.field).toBe('lessonId');
    expect(refused.body.data?.completeLesson ?? null).toBeNull();
    expect(await stateOf(userId)).toEqual(before);

    // The course's other lesson is marked done as before.
    const other = (await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token)).body.data!.completeLesson;
    expect(other.progress.completedLessonIds).toEqual([lessonIds[0]]);
  });

  it('a quiz that does not gate completion, and a lesson with no quiz known, are marked done as before', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 2 });
    await deliver(quizPublished(courseId, lessonIds[0]!, 1, false));
    const { token } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    expect((await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token)).body.data!.completeLesson.status).toBe(
      'ACTIVE',
    );
    expect((await h.gql(COMPLETE, { c: courseId, l: lessonIds[1] }, token)).body.data!.completeLesson.status).toBe(
      'COMPLETED',
    );
  });
});

describe('a quiz passed', () => {
  it('completes the lesson once, announces it once, and a redelivery changes nothing', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 2 });
    const quizLesson = lessonIds[1]!;
    await deliver(quizPublished(courseId, quizLesson, 1, true));
    const { token, userId } = await h.issuer.token();
    const enrollmentId = (await h.gql(ENROL, { c: courseId }, token)).body.data!.enrol.id;

    const pass = quizPassed(userId, courseId, quizLesson);
    await deliver(pass);
    const progress = await h.app.db.lessonProgress.findMany({ where: { userId } });
    expect(progress.map((p) => p.lessonId)).toEqual([quizLesson]);
    const [mine] = (await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges;
    expect(mine.node).toEqual({ status: 'ACTIVE', progress: { completedLessonIds: [quizLesson] }, certificate: null });

    const events = await lessonEvents(userId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      enrollmentId,
      userId,
      courseId,
      lessonId: quizLesson,
      completedAt: progress[0]!.completedAt.toISOString(),
    });
    // The event carries the pass's trace.
    const row = await h.app.db.outboxEvent.findFirstOrThrow({
      where: { subject: EnrollmentEvents.lessonCompleted.subject, traceparent: pass.traceparent },
    });
    expect(row.subject).toBe(EnrollmentEvents.lessonCompleted.subject);

    const after = await stateOf(userId);
    await deliver(pass);
    // A second pass of the same quiz (a new event) is no different.
    await deliver(quizPassed(userId, courseId, quizLesson));
    expect(await stateOf(userId)).toEqual(after);
  });

  it('completes the course when it was the last required lesson, with its certificate, once', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 3, required: [0, 2] });
    const quizLesson = lessonIds[2]!;
    await deliver(quizPublished(courseId, quizLesson, 1, true));
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token);

    const pass = quizPassed(userId, courseId, quizLesson);
    await deliver(pass);
    const [mine] = (await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges;
    expect(mine.node.status).toBe('COMPLETED');
    expect(mine.node.progress.completedLessonIds.sort()).toEqual([lessonIds[0], quizLesson].sort());
    expect(mine.node.certificate).toMatchObject({ revoked: false });
    expect(mine.node.certificate.publicId).toMatch(/^CG(-[A-Z2-9]{4}){5}$/);
    expect(await h.outbox(EnrollmentEvents.courseCompleted, (p) => p.userId === userId)).toHaveLength(1);
    expect(await h.outbox(EnrollmentEvents.certificateIssued, (p) => p.userId === userId)).toHaveLength(1);
    expect((await lessonEvents(userId)).map((e) => e.lessonId).sort()).toEqual([lessonIds[0], quizLesson].sort());

    const after = await stateOf(userId);
    await deliver(pass);
    expect(await stateOf(userId)).toEqual(after);
  });

  it('an audit completes without a certificate', async () => {
    const { courseId, lessonIds } = await h.course({ price: 4900, lessons: 1 });
    await deliver(quizPublished(courseId, lessonIds[0]!, 1, true));
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId, m: 'AUDIT' }, token);
    await deliver(quizPassed(userId, courseId, lessonIds[0]!));
    const [mine] = (await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges;
    expect(mine.node).toMatchObject({ status: 'COMPLETED', certificate: null });
    expect(await h.outbox(EnrollmentEvents.courseCompleted, (p) => p.userId === userId)).toHaveLength(1);
  });

  it('without an enrolment, or after unenrolling, changes nothing', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 1 });
    await deliver(quizPublished(courseId, lessonIds[0]!, 1, true));

    const stranger = randomUUID();
    await deliver(quizPassed(stranger, courseId, lessonIds[0]!));
    expect(await stateOf(stranger)).toEqual({ enrollments: [], progress: [], certificates: [], outbox: [] });

    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    await h.gql(UNENROL, { c: courseId }, token);
    const before = await stateOf(userId);
    await deliver(quizPassed(userId, courseId, lessonIds[0]!));
    expect(await stateOf(userId)).toEqual(before);
  });

  it('of a lesson not in the course changes nothing; of a course version enrollment has not seen yet, waits', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 1 });
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    const before = await stateOf(userId);
    await deliver(quizPassed(userId, courseId, randomUUID()));
    expect(await stateOf(userId)).toEqual(before);

    // Version 2 adds a quiz lesson; learning announces its quiz before enrollment's course projection
    // has caught up: the pass fails (to be retried) rather than being lost.
    const added = randomUUID();
    await deliver(quizPublished(courseId, added, 2, true));
    await expect(deliver(quizPassed(userId, courseId, added))).rejects.toThrow(/version 2 not yet known/);
    expect(await stateOf(userId)).toEqual(before);
    await h.app.db.$transaction((tx) =>
      applySnapshot(
        tx,
        create(courseContract.CourseSnapshotSchema, {
          courseId,
          version: 2,
          instructorId: randomUUID(),
          title: 'With a quiz',
          price: { amountMinor: 0n, currency: 'USD' },
          lessons: [...lessonIds, added].map((lessonId, position) => ({
            lessonId,
            position,
            required: true,
            title: `L${position}`,
          })),
        }),
      ),
    );
    await deliver(quizPassed(userId, courseId, added));
    expect((await h.app.db.lessonProgress.findMany({ where: { userId } })).map((p) => p.lessonId)).toEqual([added]);
  });

  it('of a course enrollment does not know yet fails, to be retried, and changes nothing', async () => {
    const courseId = randomUUID();
    const { courseId: known } = await h.course({ lessons: 1 });
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: known }, token);
    // An enrolment row for an unknown course cannot be made through the API: write it as a stale one would be.
    await h.app.db.enrollment.create({ data: { id: newId(), userId, courseId, mode: 'FREE' } });
    const before = await stateOf(userId);
    await expect(deliver(quizPassed(userId, courseId, randomUUID()))).rejects.toThrow(/not yet known/);
    expect(await stateOf(userId)).toEqual(before);
  });
});

describe('enrollment.lesson.completed', () => {
  it('is enqueued once per lesson newly completed, by hand or by a pass', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 3 });
    await deliver(quizPublished(courseId, lessonIds[2]!, 1, false));
    const { token, userId } = await h.issuer.token();
    const enrollmentId = (await h.gql(ENROL, { c: courseId }, token)).body.data!.enrol.id;

    await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token);
    await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token);
    expect((await lessonEvents(userId)).map((e) => e.lessonId)).toEqual([lessonIds[0]]);

    // A lesson marked by hand and then passed is announced once.
    await h.gql(COMPLETE, { c: courseId, l: lessonIds[2] }, token);
    await deliver(quizPassed(userId, courseId, lessonIds[2]!));
    // And concurrent marks of one lesson announce it once.
    await Promise.all([
      h.gql(COMPLETE, { c: courseId, l: lessonIds[1] }, token),
      h.gql(COMPLETE, { c: courseId, l: lessonIds[1] }, token),
    ]);
    const events = await lessonEvents(userId);
    expect(events.map((e) => e.lessonId).sort()).toEqual([...lessonIds].sort());
    const progress = await h.app.db.lessonProgress.findMany({ where: { userId } });
    for (const p of progress)
      expect(events.find((e) => e.lessonId === p.lessonId)).toMatchObject({
        enrollmentId,
        courseId,
        completedAt: p.completedAt.toISOString(),
      });
    expect(await h.outbox(EnrollmentEvents.courseCompleted, (p) => p.userId === userId)).toHaveLength(1);
  });
});

describe('the quiz projection', () => {
  const requirementOf = (lessonId: string) => h.app.db.quizRequirement.findUnique({ where: { lessonId } });

  it('keeps the newest course version: an older or repeated event does not overwrite it', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 1 });
    const lessonId = lessonIds[0]!;
    await deliver(quizPublished(courseId, lessonId, 2, false, 60));
    const newest = await requirementOf(lessonId);
    expect(newest).toMatchObject({ courseId, courseVersion: 2, passScore: 60, completionRequiresPass: false });

    await deliver(quizPublished(courseId, lessonId, 1, true, 80));
    await deliver(quizPublished(courseId, lessonId, 2, true, 90));
    expect(await requirementOf(lessonId)).toEqual(newest);
    // So the lesson is still marked done by hand.
    const { token } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    expect((await h.gql(COMPLETE, { c: courseId, l: lessonId }, token)).body.data!.completeLesson.status).toBe(
      'COMPLETED',
    );

    await deliver(quizPublished(courseId, lessonId, 3, true, 75));
    expect(await requirementOf(lessonId)).toMatchObject({
      courseVersion: 3,
      passScore: 75,
      completionRequiresPass: true,
    });
  });

  it('refuses malformed events (to be dead-lettered) and keeps what it held', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 1 });
    const lessonId = lessonIds[0]!;
    await deliver(quizPublished(courseId, lessonId, 1, false, 50));
    const held = await requirementOf(lessonId);
    await expect(deliver(quizPublished(courseId, lessonId, 2, true, 101))).rejects.toThrow(/pass_score 101/);
    await expect(deliver(quizPublished(courseId, lessonId, 2, true, -1))).rejects.toThrow(/pass_score -1/);
    await expect(deliver(quizPublished('not-an-id', lessonId, 2, true))).rejects.toThrow(/courseId/);
    await expect(deliver(quizPublished(courseId, "x' or '1'='1", 2, true))).rejects.toThrow(/lessonId/);
    expect(await requirementOf(lessonId)).toEqual(held);

    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    const before = await stateOf(userId);
    await expect(deliver(quizPassed(userId, courseId, ''))).rejects.toThrow(/lessonId/);
    await expect(deliver(quizPassed('robert', courseId, lessonId))).rejects.toThrow(/userId/);
    expect(await stateOf(userId)).toEqual(before);
  });
});

describe('the enrollment-learning consumer', () => {
  it('is registered on LEARNING for both events, replayable, and applies them from JetStream', async () => {
    const spec = consumers['enrollment-learning'];
    expect(spec.stream).toBe('LEARNING');
    expect(spec.handlers.map((x) => x.type.subject).sort()).toEqual(
      [LearningEvents.quizPassed.subject, LearningEvents.quizPublished.subject].sort(),
    );
    expect(typeof spec.reset).toBe('function');

    const { courseId, lessonIds } = await h.course({ lessons: 1 });
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);

    // A durable of its own, so a running enrollment service's `enrollment-learning` is left alone; as
    // enrollment's NATS user, so its permissions on LEARNING are exercised too.
    const name = `enrollment-learning-test-${randomBytes(4).toString('hex')}`;
    const operatorUrl = process.env.NATS_URL!;
    const consumer = await startConsumer({
      context: 'enrollment',
      name,
      stream: spec.stream,
      natsUrl: withNatsUser(operatorUrl, 'enrollment'),
      handlers: spec.handlers,
      transaction: prismaTransaction<Tx>(h.app.db),
      logger: createLogger('enrollment-learning-test', 'silent'),
    });
    const nc = await connect(natsConnectOptions(operatorUrl));
    try {
      const js = jetstream(nc);
      const publish = async <E extends EventType>(type: E, event: ReceivedEvent<E>) => {
        const { id, traceparent } = event;
        const headers = envelopeHeaders({
          id,
          subject: type.subject,
          source: 'learning',
          time: new Date(),
          traceparent,
        });
        await js.publish(type.subject, toBinary(type.schema, event.payload), { headers });
      };
      await publish(LearningEvents.quizPublished, quizPublished(courseId, lessonIds[0]!, 1, true));
      await publish(LearningEvents.quizPassed, quizPassed(userId, courseId, lessonIds[0]!));
      const [mine] = await eventually('the pass to complete the course', async () => {
        const edges = (await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges;
        return edges[0]?.node.status === 'COMPLETED' && edges;
      });
      expect(mine.node.progress.completedLessonIds).toEqual([lessonIds[0]]);
      expect(await h.app.db.quizRequirement.findUnique({ where: { lessonId: lessonIds[0]! } })).toMatchObject({
        completionRequiresPass: true,
      });
      expect(await h.app.db.processedEvent.count({ where: { consumer: name } })).toBeGreaterThanOrEqual(2);
      expect(await lessonEvents(userId)).toHaveLength(1);
    } finally {
      await consumer.stop();
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(spec.stream, name).catch(() => undefined);
      await jsm.consumers.delete(REDRIVE_STREAM, redriveConsumerName('enrollment', name)).catch(() => undefined);
      await nc.close();
    }
  });
});
