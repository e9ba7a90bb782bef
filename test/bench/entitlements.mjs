#!/usr/bin/env node
// Refund → refusal benchmark (npm run bench:entitlements): how long a refunded learner can still
// read a paid lesson. The path is payment's outbox → PAYMENT stream → enrollment revokes → its
// outbox → ENROLLMENT stream → course's entitlement projection.
// Starts a platform of its own (database coursegraph_bench_entitlements, a NATS server, free ports),
// publishes one paid course, then for BENCH_LEARNERS learners (BENCH_CONCURRENCY at a time): sign
// up, check out, wait until the paid lesson's body is served, refund (as an admin), and poll the
// body through the gateway every BENCH_POLL_MS until it is refused. Two figures per refund:
//   database  from the refund row's transaction (payment.refunds.created_at, taken inside the
//             transaction, so at or before its commit) to course's projection update
//             (course.entitlements.updated_at): the events' own path, no polling in it
//   observed  from the refund mutation's answer to the first refused read through the gateway
//             (includes up to BENCH_POLL_MS of polling granularity)
// Needs `npm run build`, `cargo build --bins` in rust-subgraphs and the stack (node scripts/stack.mjs up).
// Writes test/bench/results/entitlements.json and entitlements.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ROOT, contextDatabaseUrl } from '../../scripts/lib/env.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  learners: Number(env('BENCH_LEARNERS', 200)),
  concurrency: Number(env('BENCH_CONCURRENCY', 4)),
  poll_ms: Number(env('BENCH_POLL_MS', 5)),
  database: env('BENCH_DATABASE', 'coursegraph_bench_entitlements'),
  log_level: 'warn',
};
process.env.POSTGRES_DB = SETTINGS.database;
process.env.LOG_LEVEL = SETTINGS.log_level;

const { bootstrap, deploy } = await import('../../scripts/prisma.mjs');
const { startPlatform, subgraphList } = await import('../../scripts/lib/platform.mjs');
const { checkBuilt, dropDatabase, freePort, startNats } = await import('./lib/platform.mjs');
const { treeCpuSeconds } = await import('./lib/measure.mjs');
const { default: pg } = await import('pg');

const log = (...args) => console.log('bench:entitlements:', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const PASSWORD = 'violet-otter-staircase';
const SANDBOX_SUCCESS = '4242424242424242';
// Generous limits: one address signs up and checks out every learner.
const COMMON_ENV = {
  LOG_LEVEL: SETTINGS.log_level,
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
  RATE_LIMIT_CHECKOUT_PER_MINUTE: '1000000',
  RATE_LIMIT_ENROL_PER_MINUTE: '1000000',
};

checkBuilt();
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-entitlements-'));
const logDir = path.join(ROOT, '.data/bench-logs', `entitlements-${Date.now()}`);
fs.mkdirSync(logDir, { recursive: true });
await dropDatabase(SETTINGS.database);
await bootstrap({ database: SETTINGS.database });
deploy({ quiet: true, database: SETTINGS.database });

const nats = await startNats();
const names = ['gateway', ...subgraphList().map((s) => s.name)];
const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
let platform;
try {
  platform = await startPlatform({
    ports,
    database: SETTINGS.database,
    env: { NATS_URL: nats.url, SEARCH_INDEX_DIR: path.join(runDir, 'search-index'), ...COMMON_ENV },
    logDir,
    log: () => {},
  });
} catch (err) {
  await nats.dispose();
  throw err;
}
const endpoint = `${platform.gatewayUrl}/graphql`;
const payment = new pg.Client({ connectionString: contextDatabaseUrl('payment', SETTINGS.database) });
const course = new pg.Client({ connectionString: contextDatabaseUrl('course', SETTINGS.database) });
await Promise.all([payment.connect(), course.connect()]);

async function gql(query, variables = {}, token) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function must(query, variables, token, field) {
  const body = await gql(query, variables, token);
  if (!body.data?.[field]) throw new Error(`${field} failed: ${JSON.stringify(body.errors)}`);
  return body.data[field];
}

async function signUp(tag, role) {
  const email = `${tag}-${randomUUID()}@bench.coursegraph.dev`;
  const up = await must(
    `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }`,
    { i: { email, password: PASSWORD, name: tag } },
    undefined,
    'signUp',
  );
  if (!role) return { userId: up.user.id, token: up.accessToken };
  const identity = new pg.Client({ connectionString: contextDatabaseUrl('identity', SETTINGS.database) });
  await identity.connect();
  await identity.query('update users set role = $1 where id = $2', [role, up.user.id]);
  await identity.end();
  const login = await must(
    `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`,
    { i: { email, password: PASSWORD } },
    undefined,
    'logIn',
  );
  return { userId: up.user.id, token: login.accessToken };
}

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(SETTINGS.poll_ms);
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const summary = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v) => Math.round(v * 10) / 10;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1)),
    mean: round(sorted.reduce((s, v) => s + v, 0) / sorted.length),
  };
};

try {
  const [instructor, admin] = [await signUp('instructor', 'INSTRUCTOR'), await signUp('admin', 'ADMIN')];
  const created = await must(
    `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
    {
      i: {
        title: 'Refund timing course',
        category: 'programming',
        level: 'BEGINNER',
        language: 'en',
        price: { amountMinor: 2900, currency: 'USD' },
      },
    },
    instructor.token,
    'createCourse',
  );
  const mod = await must(
    `mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`,
    { i: { courseId: created.id, title: 'Basics' } },
    instructor.token,
    'addModule',
  );
  await must(
    `mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`,
    { i: { moduleId: mod.id, title: 'Paid', kind: 'ARTICLE', body: 'Paid text.' } },
    instructor.token,
    'addLesson',
  );
  await must(
    `mutation($c: ID!) { publishCourse(courseId: $c) { id } }`,
    { c: created.id },
    instructor.token,
    'publishCourse',
  );
  const BODY = `query($c: ID!) { course(id: $c) { modules { lessons { body } } } }`;
  const bodyOf = async (token) =>
    (await gql(BODY, { c: created.id }, token)).data?.course?.modules[0].lessons[0].body ?? null;

  const cpuBefore = Object.fromEntries(names.map((n) => [n, treeCpuSeconds(platform.pid(n))]));
  const database = [];
  const observed = [];
  let next = 0;
  let done = 0;
  const started = Date.now();
  async function worker() {
    while (next < SETTINGS.learners) {
      next++;
      const learner = await signUp('learner');
      const order = await until('the course to be purchasable', async () => {
        const body = await gql(
          `mutation($i: CheckoutInput!) { checkout(input: $i) { order { id status } } }`,
          { i: { courseId: created.id, idempotencyKey: randomUUID(), paymentMethod: SANDBOX_SUCCESS } },
          learner.token,
        );
        return body.data?.checkout?.order;
      });
      if (order.status !== 'PAID') throw new Error(`checkout ended ${order.status}`);
      await until('the entitlement', async () => (await bodyOf(learner.token)) !== null);
      const refund = await must(
        `mutation($o: ID!) { refundOrder(orderId: $o, reason: "bench") { refund { id } } }`,
        { o: order.id },
        admin.token,
        'refundOrder',
      );
      const answeredAt = performance.now();
      await until('the refusal', async () => (await bodyOf(learner.token)) === null);
      observed.push(performance.now() - answeredAt);
      const [{ created_at: refundAt }] = (
        await payment.query('select created_at from refunds where id = $1', [refund.refund.id])
      ).rows;
      const [{ updated_at: revokedAt }] = (
        await course.query('select updated_at from entitlements where user_id = $1 and course_id = $2', [
          learner.userId,
          created.id,
        ])
      ).rows;
      database.push(revokedAt.getTime() - refundAt.getTime());
      if (++done % 25 === 0) log(`${done}/${SETTINGS.learners} refunds`);
    }
  }
  await Promise.all(Array.from({ length: SETTINGS.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  const cpu = Object.fromEntries(
    names.map((n) => [n, Math.round(((treeCpuSeconds(platform.pid(n)) - cpuBefore[n]) / done) * 1e5) / 100]),
  );

  const figures = (s) => ({ n: s.n, p50_ms: s.p50, p90_ms: s.p90, p99_ms: s.p99, max_ms: s.max, mean_ms: s.mean });
  const results = {
    benchmark: 'entitlements',
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, Node ${process.version}`,
    settings: SETTINGS,
    results: [
      { name: 'database: refund transaction → course projection', ...figures(summary(database)) },
      { name: 'observed: refund answered → first refused read', ...figures(summary(observed)) },
      {
        name: 'cpu per learner journey',
        seconds: Math.round(seconds),
        journeys: done,
        ...Object.fromEntries(Object.entries(cpu).map(([n, v]) => [`${n}_cpu_ms`, v])),
      },
    ],
  };
  fs.mkdirSync(path.join(ROOT, 'test/bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'test/bench/results/entitlements.json'), `${JSON.stringify(results, null, 2)}\n`);
  const row = (r) => `| ${r.name} | ${r.n} | ${r.p50_ms} | ${r.p90_ms} | **${r.p99_ms}** | ${r.max_ms} |`;
  const md = [
    '# Refund → refusal (npm run bench:entitlements)',
    '',
    `${results.date}, ${results.machine}.`,
    `${done} learners, ${SETTINGS.concurrency} at a time: sign up, check out, read the paid lesson, refund, poll every ${SETTINGS.poll_ms} ms until refused.`,
    '',
    '| from refund to refusal, ms | n | p50 | p90 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    row(results.results[0]),
    row(results.results[1]),
    '',
    'CPU per learner journey (sign-up, checkout, reads, refund, polling), ms: ' +
      Object.entries(cpu)
        .map(([n, v]) => `${n} ${v}`)
        .join(', ') +
      '.',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(ROOT, 'test/bench/results/entitlements.md'), md);
  console.log(md);
} finally {
  await Promise.all([payment.end(), course.end()]);
  await platform.stop();
  await nats.dispose();
  fs.rmSync(runDir, { recursive: true, force: true });
}
