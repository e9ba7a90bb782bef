/**
 * Course served in-process (yoga.fetch, no socket) against the real test database and Redis, with
 * tokens signed by a key of the test's own (no identity needed).
 */
import { randomUUID } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { CourseEvents } from '@coursegraph/contracts';
import { createLogger, readConfig, type EventType } from '@coursegraph/service-kit';
import {
  contextDatabaseUrl,
  type GraphQLResponse,
  postGraphQL,
  testIssuer,
  type TestRole,
} from '@coursegraph/test-support';
import { courseSettings } from '../src/config.js';
import { createCourseApp, type CourseApp } from '../src/app.js';

export interface Actor {
  token: string;
  userId: string;
}

export const COURSE_FIELDS = `id slug title summary description category { slug name } tags level language price { amountMinor currency } isFree
  status version publishedAt firstPublishedAt archivedAt moduleCount lessonCount hasUnpublishedChanges instructor { id }
  modules { id title summary position lessonCount lessons { id title kind position required durationSeconds body } }
  prerequisites { id }`;

export const DRAFT_FIELDS = `draft { slug title summary description category { slug } tags level language price { amountMinor currency } isFree
  moduleCount lessonCount updatedAt prerequisites { id }
  modules { id title summary position lessons { id title kind position required durationSeconds body } } }`;

/** Something unique per run, so tests pass again on the same database. */
export const uniq = (tag = 't') => `${tag}-${randomUUID().slice(0, 8)}`;

export interface CourseHarness {
  app: CourseApp;
  gql: <T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    actor?: Actor | string,
  ) => Promise<GraphQLResponse<T>>;
  /** Like gql, but fails the test on any error and returns data. */
  ok: <T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    actor?: Actor | string,
  ) => Promise<T>;
  actor: (role?: TestRole, userId?: string) => Promise<Actor>;
  /** SQL statements run since the last reset. */
  queries: string[];
  close: () => Promise<void>;
}

export async function startCourse(): Promise<CourseHarness> {
  const issuer = await testIssuer();
  const config = readConfig(courseSettings, { ...process.env, COURSE_DATABASE_URL: contextDatabaseUrl('course') });
  const queries: string[] = [];
  const app = await createCourseApp(config, createLogger('course-test', 'silent'), {
    getKey: issuer.getKey,
    onQuery: (sql) => queries.push(sql),
  });
  const gql: CourseHarness['gql'] = (query, variables, actor) =>
    postGraphQL(
      (url, init) => app.yoga.fetch(url, init),
      'http://course.test/graphql',
      query,
      variables,
      typeof actor === 'string' ? actor : actor?.token,
    );
  const ok: CourseHarness['ok'] = async (query, variables, actor) => {
    const res = await gql(query, variables, actor);
    if (res.body.errors) throw new Error(`unexpected errors: ${JSON.stringify(res.body.errors)}`);
    return res.body.data as never;
  };
  return {
    app,
    gql,
    ok,
    actor: (role = 'INSTRUCTOR', userId) => issuer.token(role, userId),
    queries,
    close: app.close,
  };
}

/** Mutations the tests share. */
export function authoring(h: CourseHarness) {
  const createCourse = async (actor: Actor, input: Record<string, unknown> = {}) => {
    const data = await h.ok<{ createCourse: any }>(
      `mutation($input: CreateCourseInput!) { createCourse(input: $input) { ${COURSE_FIELDS} ${DRAFT_FIELDS} } }`,
      { input: { title: `Course ${uniq()}`, category: 'programming', level: 'BEGINNER', language: 'en', ...input } },
      actor,
    );
    return data.createCourse;
  };
  const addModule = async (actor: Actor, courseId: string, title = 'Module', extra: Record<string, unknown> = {}) =>
    (
      await h.ok<{ addModule: any }>(
        `mutation($input: AddModuleInput!) { addModule(input: $input) { id title position course { id } } }`,
        { input: { courseId, title, ...extra } },
        actor,
      )
    ).addModule;
  const addLesson = async (actor: Actor, moduleId: string, input: Record<string, unknown> = {}) =>
    (
      await h.ok<{ addLesson: any }>(
        `mutation($input: AddLessonInput!) { addLesson(input: $input) { id title kind position module { id } course { id } } }`,
        { input: { moduleId, title: 'Lesson', kind: 'ARTICLE', body: 'Some text.', ...input } },
        actor,
      )
    ).addLesson;
  const publish = (actor: Actor, courseId: string) =>
    h.gql(`mutation($id: ID!) { publishCourse(courseId: $id) { ${COURSE_FIELDS} } }`, { id: courseId }, actor);
  /** A course with `modules` modules of `lessons` lessons each, ready to publish. */
  const publishable = async (actor: Actor, input: Record<string, unknown> = {}, modules = 1, lessons = 2) => {
    const course = await createCourse(actor, input);
    const moduleIds: string[] = [];
    const lessonIds: string[] = [];
    for (let m = 0; m < modules; m++) {
      const mod = await addModule(actor, course.id, `Module ${m + 1}`);
      moduleIds.push(mod.id);
      for (let l = 0; l < lessons; l++)
        lessonIds.push((await addLesson(actor, mod.id, { title: `Lesson ${m + 1}.${l + 1}` })).id);
    }
    return { id: course.id as string, slug: course.slug as string, moduleIds, lessonIds };
  };
  const published = async (actor: Actor, input: Record<string, unknown> = {}, modules = 1, lessons = 2) => {
    const c = await publishable(actor, input, modules, lessons);
    const res = await publish(actor, c.id);
    if (res.body.errors) throw new Error(`publish failed: ${JSON.stringify(res.body.errors)}`);
    return { ...c, course: res.body.data!.publishCourse };
  };
  return { createCourse, addModule, addLesson, publish, publishable, published };
}

export interface OutboxEvent {
  id: string;
  subject: string;
  traceparent: string;
  payload: any;
}

const SCHEMAS = new Map<string, EventType>(Object.values(CourseEvents).map((e) => [e.subject, e]));

/**
 * Decoded outbox rows about `courseId` (written in the last ten minutes: a test's own course is
 * younger): its publications, by default without `course.course.created`, which every draft has
 * (`withCreated` keeps it; authoring.test.ts checks it).
 */
export async function outboxFor(
  h: CourseHarness,
  courseId: string,
  since = new Date(Date.now() - 600_000),
  { withCreated = false }: { withCreated?: boolean } = {},
): Promise<OutboxEvent[]> {
  const rows = await h.app.db.outboxEvent.findMany({ where: { createdAt: { gte: since } }, orderBy: { id: 'asc' } });
  return rows
    .map((r) => {
      const type = SCHEMAS.get(r.subject);
      if (!type) throw new Error(`unknown subject ${r.subject}`);
      return {
        id: r.id,
        subject: r.subject,
        traceparent: r.traceparent,
        payload: fromBinary(type.schema, r.payload) as any,
      };
    })
    .filter((e) => (e.payload.course?.courseId ?? e.payload.courseId) === courseId)
    .filter((e) => withCreated || e.subject !== CourseEvents.created.subject);
}
