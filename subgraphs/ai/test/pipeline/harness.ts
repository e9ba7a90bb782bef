/**
 * The ai subgraph built by createAiApp with AI_PROVIDER=anthropic, its Messages API pointed at the
 * local server that speaks it (packages/test-support), over the test PostgreSQL and Redis. What
 * other contexts would tell ai by events (a publication, an enrolment, an open quiz attempt) is
 * applied through ai's own consumer handlers. Tests drive it through its GraphQL endpoint
 * (yoga.fetch, in-process) and read what it stored.
 *
 * The fake model's answer is a function of the request (`pipeline.model`), so a test decides what
 * each tier says; `server.script` queues faults for the next requests.
 */
import { randomUUID } from 'node:crypto';
import { create, fromBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AiEvents,
  CourseEvents,
  EnrollmentEvents,
  LearningEvents,
  course as coursePb,
  enrollment as enrollmentPb,
  type ai as aiPb,
} from '@coursegraph/contracts';
import { createLogger, readConfig, type EventHandler, type ReceivedEvent } from '@coursegraph/service-kit';
import {
  contextDatabaseUrl,
  postGraphQL,
  startMessagesApiServer,
  testIssuer,
  TEST_API_KEY,
  type MessagesApiServer,
  type MessagesRequestBody,
  type TestIssuer,
} from '@coursegraph/test-support';
import { createAiApp, type AiApp } from '../../src/app.js';
import { aiSettings, checkAiConfig, type AiConfig } from '../../src/config.js';
import type { Tx } from '../../src/data/db.js';
import { attemptHandlers } from '../../src/events/attempts.js';
import { courseHandlers } from '../../src/events/course-projection.js';
import { enrolmentHandlers } from '../../src/events/enrolments.js';
import { tierTable, type TierTable } from '../../src/domain/routing/tiers.js';
import type { Tier } from '../../src/providers/provider.js';

/** A lesson about tides, written for these tests: ordinary prose (so generation starts at CHEAP). */
export const TIDES_LESSON = `The tide is the regular rise and fall of the sea surface along a coast. Tides are caused mainly by the gravity of the Moon. The Sun pulls on the oceans as well, but less strongly because it is much farther away.

A spring tide happens when the Sun, the Moon and the Earth line up, so the two pulls add together. When the Sun and the Moon pull at right angles, the result is a neap tide with a small range. Most coasts see two high tides and two low tides every day.

The tidal range is the difference in height between high water and low water. The Bay of Fundy in Canada has one of the largest tidal ranges in the world.`;

/** What the fake model answers a request sent to `tier`'s model. */
export type FakeModel = (body: MessagesRequestBody, tier: Tier) => string;

export interface Pipeline {
  app: AiApp;
  config: AiConfig;
  /** The tiers' models and prices, as the app routes and charges them. */
  tiers: TierTable;
  server: MessagesApiServer;
  issuer: TestIssuer;
  /** Replace to change what the fake model answers from now on. */
  model: FakeModel;
  /** A GraphQL operation as `token`'s bearer; throws on any error. */
  gql<T = Record<string, any>>(query: string, variables: Record<string, unknown>, token: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * Starts the fake Messages API and the ai app on it. `env` overrides settings (AI_MODEL_TIMEOUT_MS,
 * AI_MAX_RETRY_WAIT_MS, the daily budgets...); the tier models get names of their own so a test can
 * tell from a request which tier sent it.
 */
export async function startPipeline(env: Record<string, string> = {}): Promise<Pipeline> {
  let model: FakeModel = () => 'Which part of the lesson would you like to look at first?';
  const server = await startMessagesApiServer({
    reply: (body) => model(body, tierNamed(tiers, body.model)!),
  });
  const config = checkAiConfig(
    readConfig(aiSettings, {
      ...process.env,
      AI_DATABASE_URL: contextDatabaseUrl('ai'),
      AI_PROVIDER: 'anthropic',
      ANTHROPIC_API_KEY: TEST_API_KEY,
      ANTHROPIC_BASE_URL: server.url,
      AI_TIER_CHEAP: 'test-cheap-model:1:5',
      AI_TIER_MID: 'test-mid-model:3:15',
      AI_TIER_TOP: 'test-top-model:5:25',
      ...env,
    }),
  );
  const tiers = tierTable(config);
  const issuer = await testIssuer();
  const app = await createAiApp(config, createLogger('ai-pipeline-test', 'silent'), { getKey: issuer.getKey });
  const pipeline: Pipeline = {
    app,
    config,
    tiers,
    server,
    issuer,
    get model() {
      return model;
    },
    set model(next: FakeModel) {
      model = next;
    },
    async gql(query, variables, token) {
      const res = await postGraphQL(
        (url, init) => app.yoga.fetch(url, init),
        'http://ai.test/graphql',
        query,
        variables,
        token,
      );
      if (res.body.errors) throw new Error(`unexpected errors: ${JSON.stringify(res.body.errors)}`);
      return res.body.data as any;
    },
    async close() {
      await app.close();
      await server.close();
    },
  };
  return pipeline;
}

const tierNamed = (tiers: TierTable, model: string): Tier | undefined =>
  (Object.keys(tiers) as Tier[]).find((tier) => tiers[tier].model === model);

/** The tier whose model a request named, from the server's record of it. */
export const tierOf = (pipeline: Pipeline, body: unknown): Tier | undefined =>
  tierNamed(pipeline.tiers, (body as MessagesRequestBody).model);

/** The system prompt of a request as text. */
export const systemOf = (body: MessagesRequestBody): string =>
  typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text ?? '').join('\n');

/** Which task a request is for, from the system prompt material/prompts.ts and tutor/prompts.ts write. */
export function taskOf(body: MessagesRequestBody): 'FLASHCARD_EXTRACTION' | 'QUIZ_GENERATION' | 'TUTOR' {
  const system = systemOf(body);
  if (system.startsWith('You write flashcards')) return 'FLASHCARD_EXTRACTION';
  if (system.startsWith('You write single-choice quiz questions')) return 'QUIZ_GENERATION';
  return 'TUTOR';
}

/** The id of the passage (as the material prompt shows it) whose text holds `sentence`. */
export function passageHolding(body: MessagesRequestBody, sentence: string): string {
  const user = body.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  for (const match of user.matchAll(/<passage id=("[^"]*")[^>]*>\n([\s\S]*?)\n<\/passage>/g)) {
    if (match[2]!.replace(/\s+/g, ' ').includes(sentence)) return JSON.parse(match[1]!) as string;
  }
  throw new Error(`no passage of the prompt holds "${sentence}"`);
}

/** Applies an event of `type` through one of ai's consumer handlers, as its consumer would. */
async function apply<S extends DescMessage>(
  app: AiApp,
  handlers: EventHandler<Tx>[],
  type: { subject: string; schema: S },
  payload: MessageInitShape<S>,
): Promise<void> {
  const handler = handlers.find((h) => h.type.subject === type.subject);
  if (!handler) throw new Error(`ai has no handler for ${type.subject}`);
  const event: ReceivedEvent = {
    id: randomUUID(),
    type: type.subject,
    source: 'test',
    time: new Date().toISOString(),
    traceparent: '',
    streamSequence: 1,
    deliveryCount: 1,
    payload: create(type.schema, payload),
  };
  await app.db.$transaction((tx) => handler.handle(tx, event));
}

export interface TestCourse {
  courseId: string;
  lessonId: string;
  instructor: { token: string; userId: string };
}

/** A paid course with one article lesson (`body`), published: course.course.published through ai's handler. */
export async function publishCourse(pipeline: Pipeline, body = TIDES_LESSON): Promise<TestCourse> {
  const instructor = await pipeline.issuer.token('INSTRUCTOR');
  const courseId = randomUUID();
  const lessonId = randomUUID();
  await apply(pipeline.app, courseHandlers, CourseEvents.published, {
    course: {
      courseId,
      version: 1,
      instructorId: instructor.userId,
      title: `Oceans ${courseId.slice(0, 8)}`,
      category: 'geography',
      tags: ['oceans', 'tides'],
      language: 'en',
      price: { amountMinor: 2_900n, currency: 'USD' },
      publishedAt: new Date().toISOString(),
      lessons: [
        {
          lessonId,
          position: 0,
          required: true,
          title: 'Tides',
          kind: coursePb.LessonKind.ARTICLE,
          bodyText: body,
        },
      ],
    },
  });
  return { courseId, lessonId, instructor };
}

/** A new learner with a PAID enrolment in the course (enrollment.enrollment.created through ai's handler). */
export async function enrolledLearner(pipeline: Pipeline, course: TestCourse) {
  const learner = await pipeline.issuer.token('LEARNER');
  await apply(pipeline.app, enrolmentHandlers, EnrollmentEvents.created, {
    enrollmentId: randomUUID(),
    userId: learner.userId,
    courseId: course.courseId,
    mode: enrollmentPb.EnrollmentMode.PAID,
    enrolledAt: new Date().toISOString(),
  });
  return learner;
}

/** learning.quiz.graded: the learner failed a graded attempt of the course's quiz. */
export async function failedQuiz(pipeline: Pipeline, course: TestCourse, userId: string) {
  await apply(pipeline.app, attemptHandlers, LearningEvents.quizGraded, {
    attemptId: randomUUID(),
    userId,
    courseId: course.courseId,
    lessonId: randomUUID(),
    score: 20,
    passed: false,
    attemptNumber: 1,
    gradedAt: new Date().toISOString(),
  });
}

/** learning.attempt.started for a graded quiz of the course whose answers are `protectedAnswers`. */
export async function openAttempt(pipeline: Pipeline, course: TestCourse, userId: string, protectedAnswers: string[]) {
  await apply(pipeline.app, attemptHandlers, LearningEvents.attemptStarted, {
    attemptId: randomUUID(),
    userId,
    courseId: course.courseId,
    lessonId: randomUUID(),
    protectedAnswers,
    startedAt: new Date().toISOString(),
  });
}

const ASK = `mutation($i: AskTutorInput!) { askTutor(input: $i) { id status } }`;

/** Asks the tutor and waits until the reply is written; returns the stored turn. */
export async function askTutor(
  pipeline: Pipeline,
  token: string,
  lessonId: string,
  message: string,
  clientTurnId?: string,
) {
  const { askTutor: turn } = await pipeline.gql<{ askTutor: { id: string } }>(
    ASK,
    { i: { lessonId, message, clientTurnId } },
    token,
  );
  await pipeline.app.ai.tutor.drain();
  return pipeline.app.db.tutorTurn.findUniqueOrThrow({ where: { id: turn.id } });
}

/** The user's model calls, oldest first. */
export const modelCalls = (pipeline: Pipeline, userId: string) =>
  pipeline.app.db.modelCall.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });

/** The ai.tutor.reply events of a turn, decoded with the contract's schema, in the outbox's order (ids are UUID v7). */
export async function replyEvents(
  pipeline: Pipeline,
  turn: { id: string; createdAt: Date },
): Promise<aiPb.TutorReply[]> {
  const rows = await pipeline.app.db.outboxEvent.findMany({
    // Other test files write replies too: the turn's own are picked out after decoding.
    where: { subject: AiEvents.tutorReply.subject, createdAt: { gte: new Date(turn.createdAt.getTime() - 5_000) } },
    orderBy: { id: 'asc' },
  });
  return rows.map((r) => fromBinary(AiEvents.tutorReply.schema, r.payload)).filter((e) => e.turnId === turn.id);
}

/** What the user has spent today, as the budgets count it (µ$). */
export async function spentToday(pipeline: Pipeline, userId: string): Promise<number> {
  return (await pipeline.app.ai.budgets.spent(userId, new Date())).userMicroUsd;
}

/** What generated material has cost the course today, as its budget counts it (µ$). */
export async function courseSpentToday(pipeline: Pipeline, courseId: string): Promise<number> {
  return (await pipeline.app.ai.courseBudgets.spent(courseId, new Date())).userMicroUsd;
}
