/**
 * Steps of the platform's journeys through the gateway, shared by the end-to-end suites: people
 * with roles, a published course, waiting for eventual consistency.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ROOT, contextDatabaseUrl, freshMigratedDatabase, redisUrl, startPlatform, subgraphList } from './scripts.js';
import { AUTH_FIELDS, GOOD_PASSWORD, postGraphQL, uniqueEmail, type GraphQLResponse } from './graphql.js';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';
import { privateNats, type PrivateNats } from './private-nats.js';

export type Gql = <T = Record<string, any>>(
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
) => Promise<GraphQLResponse<T>>;

export const gatewayClient =
  (endpoint: string): Gql =>
  (query, variables, token) =>
    postGraphQL(fetch, endpoint, query, variables, token);

/** A running platform of a suite's own and the way to talk to it. */
export interface E2E {
  platform: Awaited<ReturnType<typeof startPlatform>>;
  gql: Gql;
  /** The platform database this suite runs on. */
  database: string;
  endpoint: string;
  /** Where each process listens. */
  ports: Record<string, number>;
  /**
   * The suite's NATS server as the `operator` user (every service runs as its own user); nats.js
   * connects with `connect(natsConnectOptions(natsUrl))`.
   */
  natsUrl: string;
  /** Where each process writes its JSON log (`<name>.log`, and the supervisor's). */
  logDir: string;
}

/**
 * Starts every subgraph and the gateway on free ports, on a database of the suite's own
 * (coursegraph_e2e_<suite>, made anew from a migrated template) and a NATS server of its own (unless
 * one is given): two suites must never share an outbox, a durable consumer or a search index, or
 * one suite's events would be applied by the other's processes.
 */
export async function startE2E(
  suite: string,
  options: {
    env?: Record<string, string>;
    /**
     * COURSEGRAPH_MODE. `production` is the gateway's alone (the process such a suite tests), with what
     * the production profile asks of it (productionGateway); the subgraphs keep the test run's mode, as
     * the test platform's development database passwords and sandbox payments are what production refuses.
     * Any other mode is every process's. Default: the test run's.
     */
    mode?: string;
    nats?: PrivateNats;
  } = {},
): Promise<E2E> {
  const database = `coursegraph_e2e_${suite}`;
  await freshMigratedDatabase(database);
  const nats = options.nats ?? (await privateNats());
  if (!options.nats) await nats.start();
  // The search index follows the stream it was built from: a new NATS store needs a new index.
  const searchIndex = fs.mkdtempSync(path.join(os.tmpdir(), `cg-search-${suite}-`));
  // Uploads and media of the suite's own: a recovered upload of an earlier run must not be processed again.
  const videoStorage = fs.mkdtempSync(path.join(os.tmpdir(), `cg-video-${suite}-`));
  const names = ['gateway', ...subgraphList().map((s) => s.name)];
  const ports: Record<string, number> = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await freePort()])),
  );
  // Mail goes nowhere unless the suite brings an SMTP server (options.env.SMTP_PORT): never to the demo's sink.
  const noMail = { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(await freePort()) };
  const logDir = path.join(ROOT, '.data/test-logs', `${suite}-${Date.now()}`);
  const gateway = options.mode === 'production' ? await productionGateway() : null;
  let platform: Awaited<ReturnType<typeof startPlatform>>;
  try {
    platform = await startPlatform({
      ports,
      database,
      env: {
        NATS_URL: nats.url,
        SEARCH_INDEX_DIR: searchIndex,
        VIDEO_STORAGE_DIR: videoStorage,
        ...noMail,
        ...(options.mode && options.mode !== 'production' ? { COURSEGRAPH_MODE: options.mode } : {}),
        ...options.env,
      },
      logDir,
      log: () => {},
    });
  } catch (err) {
    await gateway?.dispose();
    throw err;
  }
  // Started once in the test mode, the gateway is restarted in production mode (startPlatform gives every process one environment).
  if (gateway) {
    try {
      await platform.restart('gateway', { signal: 'SIGTERM', env: gateway.env });
    } catch (err) {
      await platform.stop();
      await gateway.dispose();
      throw err;
    }
  }
  const stop = async () => {
    await platform.stop();
    await gateway?.dispose();
    if (!options.nats) await nats.dispose();
    fs.rmSync(searchIndex, { recursive: true, force: true });
    fs.rmSync(videoStorage, { recursive: true, force: true });
  };
  const endpoint = `${platform.gatewayUrl}/graphql`;
  return {
    platform: { ...platform, stop },
    gql: gatewayClient(endpoint),
    database,
    endpoint,
    ports,
    natsUrl: nats.url,
    logDir,
  };
}

/**
 * What the production profile asks of a gateway, on the test run's services: the JWKS host it fetches
 * over plain http (identity on 127.0.0.1) allow-listed, and Redis and NATS with credentials, which the
 * test run's have (scripts/lib/credentials.mjs): REDIS_URL with the generated password, and NATS_URL as
 * the gateway's own NATS user, which startPlatform gives every process. The signing secret is the
 * test run's own (packages/test-support/src/services.ts).
 */
async function productionGateway(): Promise<{ env: Record<string, string>; dispose: () => Promise<void> }> {
  return {
    env: { COURSEGRAPH_MODE: 'production', JWKS_HTTP_ALLOWED_HOSTS: '127.0.0.1', REDIS_URL: redisUrl() },
    dispose: async () => {},
  };
}

/** The JSON lines one process of a suite's platform has logged so far (`name`: gateway, a subgraph, supervisor). */
export function serviceLog(e2e: Pick<E2E, 'logDir'>, name: string): Record<string, unknown>[] {
  const file = path.join(e2e.logDir, `${name}.log`);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface Person {
  userId: string;
  email: string;
  name: string;
  token: string;
}

/** Signs a new person up through the gateway; a role other than LEARNER is granted as an admin would, then they sign in again. */
export async function person(
  e2e: Pick<E2E, 'gql' | 'database'>,
  role: 'LEARNER' | 'INSTRUCTOR' | 'ADMIN' = 'LEARNER',
  tag = role.toLowerCase(),
): Promise<Person> {
  const { gql } = e2e;
  const email = uniqueEmail(tag);
  const name = `${tag} ${email.slice(tag.length + 1, tag.length + 7)}`;
  const res = await gql(`mutation($i: SignUpInput!) { signUp(input: $i) { ${AUTH_FIELDS} } }`, {
    i: { email, password: GOOD_PASSWORD, name },
  });
  if (!res.body.data) throw new Error(`signUp failed: ${JSON.stringify(res.body.errors)}`);
  const userId = res.body.data.signUp.user.id as string;
  if (role === 'LEARNER') return { userId, email, name, token: res.body.data.signUp.accessToken };
  const db = new pg.Client({ connectionString: contextDatabaseUrl('identity', e2e.database) });
  await db.connect();
  await db.query('update users set role = $1 where id = $2', [role, userId]);
  await db.end();
  const login = await gql(`mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`, {
    i: { email, password: GOOD_PASSWORD },
  });
  return { userId, email, name, token: login.body.data!.logIn.accessToken };
}

export interface PublishedCourse {
  courseId: string;
  title: string;
  lessonIds: string[];
}

/** An instructor authors and publishes a course with one module of `lessons` lessons. */
export async function publishCourse(
  gql: Gql,
  instructor: Person,
  { priceMinor = 0, lessons = 2, title }: { priceMinor?: number; lessons?: number; title?: string } = {},
): Promise<PublishedCourse> {
  const courseTitle = title ?? `E2E course ${Math.random().toString(36).slice(2, 10)}`;
  const must = (res: GraphQLResponse, field: string) => {
    if (!res.body.data?.[field]) throw new Error(`${field} failed: ${JSON.stringify(res.body.errors)}`);
    return res.body.data[field];
  };
  const course = must(
    await gql(
      `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
      {
        i: {
          title: courseTitle,
          category: 'programming',
          level: 'BEGINNER',
          language: 'en',
          summary: 'An end-to-end course',
          price: { amountMinor: priceMinor, currency: 'USD' },
        },
      },
      instructor.token,
    ),
    'createCourse',
  );
  const mod = must(
    await gql(
      `mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`,
      { i: { courseId: course.id, title: 'Basics' } },
      instructor.token,
    ),
    'addModule',
  );
  const lessonIds: string[] = [];
  for (let i = 0; i < lessons; i++) {
    const lesson = must(
      await gql(
        `mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`,
        { i: { moduleId: mod.id, title: `Lesson ${i + 1}`, kind: 'ARTICLE', body: `Text of lesson ${i + 1}.` } },
        instructor.token,
      ),
      'addLesson',
    );
    lessonIds.push(lesson.id);
  }
  must(
    await gql(`mutation($c: ID!) { publishCourse(courseId: $c) { id status } }`, { c: course.id }, instructor.token),
    'publishCourse',
  );
  return { courseId: course.id, title: courseTitle, lessonIds };
}

/** The sandbox provider's test cards (subgraphs/payment/src/providers/sandbox.ts says what each does). */
export const SANDBOX_CARDS = {
  success: '4242424242424242',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  networkError: '4000000000000119',
  /** Charged, then the answer is lost to a timeout: the order stays PENDING until a look-up. */
  timeoutAfterCharge: '4000000000000408',
  /** Charged, then the answer is a 409 "in progress": the order stays PENDING until a look-up. */
  conflictAfterCharge: '4000000000000409',
};

export const CHECKOUT = `mutation($i: CheckoutInput!) { checkout(input: $i) { replayed order { id status total { amountMinor currency } payments { id } } } }`;

/** Waits until payment knows the course's price (its projection lags publication), then checks out. */
export async function checkoutWhenPurchasable(
  gql: Gql,
  learner: Person,
  courseId: string,
  card: string,
  idempotencyKey = crypto.randomUUID(),
) {
  return eventually(`course ${courseId} to be purchasable`, async () => {
    const res = await gql(CHECKOUT, { i: { courseId, idempotencyKey, paymentMethod: card } }, learner.token);
    return res.body.errors?.[0]?.extensions?.code === 'NOT_FOUND' ? undefined : res;
  });
}

export const VIEWER_ENROLLMENT = `query($c: ID!) { course(id: $c) { id viewerEnrollment { id status mode revokeReason } } }`;
