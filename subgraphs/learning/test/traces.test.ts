/**
 * The events a learner's request causes (submitting a quiz, reviewing a card) carry the caller's
 * traceparent, and those a course publication causes carry the publication's; a malformed
 * traceparent is ignored: the event starts a trace of its own.
 *
 * Learning served in-process (yoga.fetch) on the test database with locally signed tokens. What
 * course and enrollment would tell it by events (the course's owner, its publication, an
 * enrolment) is applied directly, through learning's own handler for the publication.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary } from '@bufbuild/protobuf';
import { CourseEvents, LearningEvents, course as contract } from '@coursegraph/contracts';
import {
  createLogger,
  isTraceparent,
  newTraceparent,
  readConfig,
  type EventType,
  type ReceivedEvent,
} from '@coursegraph/service-kit';
import { contextDatabaseUrl, postGraphQL, testIssuer, type TestIssuer } from '@coursegraph/test-support';
import { createLearningApp, type LearningApp } from '../src/app.js';
import { learningSettings } from '../src/config.js';
import { courseHandlers } from '../src/events/course-projection.js';

let app: LearningApp;
let issuer: TestIssuer;
beforeAll(async () => {
  const config = readConfig(learningSettings, {
    ...process.env,
    LEARNING_DATABASE_URL: contextDatabaseUrl('learning'),
  });
  issuer = await testIssuer();
  app = await createLearningApp(config, createLogger('learning-test', 'silent'), { getKey: issuer.getKey });
});
afterAll(async () => {
  await app?.db.$disconnect();
  await app?.redis.quit();
});

/** POSTs an operation, with a traceparent header when given; fails the test on any error. */
async function gql(query: string, variables: Record<string, unknown>, token: string, traceparent?: string) {
  const res = await postGraphQL(
    (url, init) => app.yoga.fetch(url, init),
    'http://learning.test/graphql',
    query,
    variables,
    token,
    traceparent ? { traceparent } : {},
  );
  if (res.body.errors) throw new Error(`unexpected errors: ${JSON.stringify(res.body.errors)}`);
  return res.body.data as Record<string, any>;
}

/** The subjects of the outbox events written on this trace, sorted. */
async function subjectsOn(traceparent: string) {
  const rows = await app.db.outboxEvent.findMany({ where: { traceparent }, select: { subject: true } });
  return rows.map((r) => r.subject).sort();
}

/** The outbox rows of `type` whose payload matches. */
async function outboxRows<E extends EventType>(type: E, match: (payload: any) => boolean) {
  const rows = await app.db.outboxEvent.findMany({
    where: { subject: type.subject },
    orderBy: { id: 'desc' },
    take: 500,
  });
  return rows.filter((r) => match(fromBinary(type.schema, r.payload)));
}

/**
 * A course with one quiz lesson (one true/false item, pass mark 50), authored by its instructor
 * and published on `publicationTrace`, with a learner enrolled (PAID) before the publication, so
 * the publication fills their deck with the item's card.
 */
async function publishedQuizCourse(publicationTrace: string) {
  const instructor = await issuer.token('INSTRUCTOR');
  const learner = await issuer.token();
  const courseId = randomUUID();
  const lessonId = randomUUID();
  // course.course.created, as learning's course consumer applies it: the owner may author.
  await app.db.course.create({ data: { id: courseId, instructorId: instructor.userId, publishedVersion: 0 } });
  const item = await gql(
    `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`,
    {
      input: { courseId, item: { type: 'TRUE_FALSE', prompt: 'Traces cross services.', trueFalseAnswer: true } },
    },
    instructor.token,
  );
  const itemId = item.createItem.id as string;
  await gql(
    `mutation($input: ConfigureQuizInput!) { configureQuiz(input: $input) { lessonId } }`,
    { input: { courseId, lessonId, draw: { itemIds: [itemId] }, passScore: 50 } },
    instructor.token,
  );
  // enrollment.enrollment.created, as learning's enrolment consumer applies it.
  await app.db.enrolment.create({
    data: { userId: learner.userId, courseId, mode: 'PAID', active: true, eventSequence: 1n },
  });
  const snapshot = create(contract.CourseSnapshotSchema, {
    courseId,
    version: 1,
    instructorId: instructor.userId,
    title: `Traced ${courseId.slice(0, 8)}`,
    price: { amountMinor: 1_900n, currency: 'USD' },
    publishedAt: new Date().toISOString(),
    lessons: [{ lessonId, position: 0, required: true, title: 'Quiz', kind: contract.LessonKind.QUIZ }],
  });
  const published = courseHandlers.find((h) => h.type === CourseEvents.published)!;
  const event: ReceivedEvent<typeof CourseEvents.published> = {
    id: randomUUID(),
    type: CourseEvents.published.subject,
    source: 'course',
    time: new Date().toISOString(),
    traceparent: publicationTrace,
    streamSequence: 1,
    deliveryCount: 1,
    payload: create(CourseEvents.published.schema, { course: snapshot }),
  };
  await app.db.$transaction((tx) => published.handle(tx, event as ReceivedEvent));
  return { courseId, lessonId, itemId, learner };
}

const START = `mutation($l: ID!) { startAttempt(lessonId: $l) { id } }`;
const ANSWER = `mutation($a: ID!, $i: ID!, $answer: AnswerInput!) { saveAnswer(attemptId: $a, itemId: $i, answer: $answer) { itemId } }`;
const SUBMIT = `mutation($a: ID!) { submitAttempt(attemptId: $a) { status passed } }`;
const QUEUE = `query($c: ID!) { reviewQueue(courseId: $c) { cards { id version } } }`;
const REVIEW = `mutation($input: ReviewCardInput!) { reviewCard(input: $input) { card { id version } } }`;

describe('traces', () => {
  it("carries the caller's traceparent into the events of submitting a quiz and reviewing a card", async () => {
    const publicationTrace = newTraceparent();
    const { courseId, lessonId, itemId, learner } = await publishedQuizCourse(publicationTrace);
    // What the publication wrote continues the publication's trace.
    expect(await subjectsOn(publicationTrace)).toEqual([LearningEvents.quizPublished.subject]);

    const attemptId = (await gql(START, { l: lessonId }, learner.token)).startAttempt.id as string;
    await gql(ANSWER, { a: attemptId, i: itemId, answer: { trueFalse: true } }, learner.token);
    const submitTrace = newTraceparent();
    expect((await gql(SUBMIT, { a: attemptId }, learner.token, submitTrace)).submitAttempt).toEqual({
      status: 'SUBMITTED',
      passed: true,
    });
    // Every event of the submission is on its trace (grading may announce more than these two).
    expect(await subjectsOn(submitTrace)).toEqual(
      expect.arrayContaining([LearningEvents.quizGraded.subject, LearningEvents.quizPassed.subject]),
    );

    const [card] = (await gql(QUEUE, { c: courseId }, learner.token)).reviewQueue.cards;
    expect(card).toBeDefined();
    const reviewTrace = newTraceparent();
    await gql(
      REVIEW,
      { input: { cardId: card.id, rating: 'GOOD', version: card.version } },
      learner.token,
      reviewTrace,
    );
    expect(await subjectsOn(reviewTrace)).toEqual([LearningEvents.reviewLogged.subject]);
  });

  it('ignores a malformed traceparent: the review succeeds and its event starts a trace of its own', async () => {
    const { courseId, learner } = await publishedQuizCourse(newTraceparent());
    const [card] = (await gql(QUEUE, { c: courseId }, learner.token)).reviewQueue.cards;
    const malformed = 'not-a-traceparent';
    const reviewed = await gql(
      REVIEW,
      { input: { cardId: card.id, rating: 'GOOD', version: card.version } },
      learner.token,
      malformed,
    );
    expect(reviewed.reviewCard.card).toEqual({ id: card.id, version: card.version + 1 });
    const logged = await outboxRows(LearningEvents.reviewLogged, (p) => p.cardId === card.id);
    expect(logged).toHaveLength(1);
    expect(isTraceparent(logged[0]!.traceparent)).toBe(true);
    expect(await app.db.outboxEvent.count({ where: { traceparent: malformed } })).toBe(0);
  });
});
