// The tutor through the one endpoint: a platform of the benchmark's own (test/bench/lib/platform.mjs),
// an instructor's paid course of demo lessons, learners who sign up and buy it, each subscribed to
// tutorReply over GraphQL over SSE, then asking the tutor. Time to first token = from sending askTutor
// to the first tutorReply event of its turn (the first checked sentence); the askTutor answer's own
// round trip, measured on the same requests, is the baseline: what a mutation through the gateway costs.
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from 'graphql-sse';
import pg from 'pg';
import { ROOT, contextDatabaseUrl } from '../../../scripts/lib/env.mjs';
import { startBenchPlatform, userWithRole } from '../lib/platform.mjs';
import { treeCpuSeconds } from '../lib/measure.mjs';
import { learnerMessages } from './messages.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const PASSWORD = 'violet-otter-staircase';
const SANDBOX_SUCCESS = '4242424242424242';
const ASK = `mutation($i: AskTutorInput!) { askTutor(input: $i) { id } }`;
const TUTOR_REPLY = `subscription { tutorReply { turnId seq done tier } }`;
/** A reply not finished by then counts as lost (and the learner moves on). */
const REPLY_TIMEOUT_MS = 30_000;

async function gql(endpoint, query, variables, token) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function must(endpoint, query, variables, token, field) {
  const body = await gql(endpoint, query, variables, token);
  if (!body.data?.[field]) throw new Error(`${field} failed: ${JSON.stringify(body.errors)}`);
  return body.data[field];
}

async function until(what, check, timeoutMs = 120_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs `work(i)` for i in 0..n-1, `concurrency` at a time. */
async function pool(n, concurrency, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

/**
 * `courseLessons`: the demo lessons of the course ({ title, text }); `learners` sign up and buy it;
 * each asks `turns` measured questions (after one warm-up turn), `concurrency` learners at a time.
 */
export async function tutorThroughGateway({
  database,
  redisUrl,
  courseLessons,
  learners,
  turns,
  concurrency,
  random,
  log,
}) {
  const logDir = path.join(ROOT, '.data/bench-logs', `ai-${Date.now()}`);
  fs.mkdirSync(logDir, { recursive: true });
  log(`tutor: starting a platform (database ${database}, logs in ${path.relative(ROOT, logDir)})`);
  const platform = await startBenchPlatform({
    database,
    logDir,
    env: {
      LOG_LEVEL: 'warn',
      REDIS_URL: redisUrl,
      // One address signs up, buys and asks for every learner.
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
      RATE_LIMIT_CHECKOUT_PER_MINUTE: '1000000',
      RATE_LIMIT_ENROL_PER_MINUTE: '1000000',
    },
  });
  const { endpoint } = platform;
  const ai = new pg.Client({ connectionString: contextDatabaseUrl('ai', database) });
  await ai.connect();
  const clients = [];
  try {
    const instructor = await userWithRole(endpoint, database, 'INSTRUCTOR');
    const course = await must(
      endpoint,
      `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
      {
        i: {
          title: 'Go, from the first program to concurrency',
          category: 'programming',
          level: 'BEGINNER',
          language: 'en',
          tags: ['go'],
          price: { amountMinor: 3900, currency: 'USD' },
        },
      },
      instructor.token,
      'createCourse',
    );
    const mod = await must(
      endpoint,
      `mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`,
      { i: { courseId: course.id, title: 'Go' } },
      instructor.token,
      'addModule',
    );
    const lessons = [];
    for (const [n, lesson] of courseLessons.entries()) {
      const added = await must(
        endpoint,
        `mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`,
        { i: { moduleId: mod.id, title: lesson.title, kind: 'ARTICLE', body: lesson.text, freePreview: n === 0 } },
        instructor.token,
        'addLesson',
      );
      lessons.push({ ...lesson, id: added.id });
    }
    await must(
      endpoint,
      `mutation($c: ID!) { publishCourse(courseId: $c) { id } }`,
      { c: course.id },
      instructor.token,
      'publishCourse',
    );
    log(`tutor: course published with ${lessons.length} lessons; ${learners} learners sign up and buy it`);

    const people = [];
    await pool(learners, 4, async (n) => {
      const up = await must(
        endpoint,
        `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }`,
        { i: { email: `bench-ai-${n}-${Date.now()}@bench.coursegraph.dev`, password: PASSWORD, name: `Learner ${n}` } },
        undefined,
        'signUp',
      );
      const order = await until('the course to be purchasable', async () => {
        const body = await gql(
          endpoint,
          `mutation($i: CheckoutInput!) { checkout(input: $i) { order { status } } }`,
          { i: { courseId: course.id, idempotencyKey: `bench-ai-${up.user.id}`, paymentMethod: SANDBOX_SUCCESS } },
          up.accessToken,
        );
        return body.data?.checkout?.order;
      });
      if (order.status !== 'PAID') throw new Error(`checkout ended ${order.status}`);
      people[n] = { userId: up.user.id, token: up.accessToken };
    });
    await until('ai to apply the publication and the paid enrolments', async () => {
      const { rows } = await ai.query(
        `select (select count(*)::int from passages where course_id = $1) as passages,
                (select count(*)::int from enrolments where course_id = $1 and active and mode = 'PAID') as enrolled`,
        [course.id],
      );
      return rows[0].passages > 0 && rows[0].enrolled === learners;
    });

    // Every learner subscribes; events are kept per turn with their arrival time.
    const turnsSeen = new Map();
    const turnOf = (id) => {
      if (!turnsSeen.has(id)) {
        let resolve;
        const done = new Promise((r) => (resolve = r));
        turnsSeen.set(id, { first: null, done, resolve, tier: null });
      }
      return turnsSeen.get(id);
    };
    for (const person of people) {
      const client = createClient({
        url: `${endpoint}/stream`,
        retryAttempts: 0,
        headers: { authorization: `Bearer ${person.token}` },
      });
      clients.push(client);
      client.subscribe(
        { query: TUTOR_REPLY },
        {
          next: (msg) => {
            const at = performance.now();
            const event = msg.data?.tutorReply;
            if (!event) return;
            const turn = turnOf(event.turnId);
            turn.first ??= at;
            if (event.done) {
              turn.tier = event.tier;
              turn.resolve(at);
            }
          },
          error: (err) => log(`tutor: a subscription failed: ${err?.message ?? JSON.stringify(err)}`),
          complete: () => {},
        },
      );
    }
    await sleep(1_000);

    const measured = { ttft: [], ask: [], total: [], lost: 0, tiers: {}, kinds: {} };
    /** One question: askTutor, then its reply's events; returns null when the reply never finished. */
    async function ask(person, lesson, message) {
      const sent = performance.now();
      const turn = await must(endpoint, ASK, { i: { lessonId: lesson.id, message } }, person.token, 'askTutor');
      const answered = performance.now();
      const seen = turnOf(turn.id);
      const finished = await Promise.race([seen.done, sleep(REPLY_TIMEOUT_MS).then(() => null)]);
      if (finished === null) return null;
      return { ttft: seen.first - sent, ask: answered - sent, total: finished - sent, tier: seen.tier };
    }
    const generators = people.map(() => lessons.map((l) => learnerMessages(l.text, random)));
    const nextQuestion = (n) => {
      const k = Math.floor(random() * lessons.length);
      return { lesson: lessons[k], ...generators[n][k].next() };
    };
    // A warm-up turn each (the subscription's consumer in place, the JIT and the course's index warm).
    let warmLost = 0;
    await pool(people.length, concurrency, async (n) => {
      const q = nextQuestion(n);
      if (!(await ask(people[n], q.lesson, q.message))) warmLost++;
    });
    log(`tutor: warm-up done (${warmLost} warm-up replies not seen); measuring ${learners} × ${turns} turns`);

    const pids = { ai: platform.pid('ai'), gateway: platform.pid('gateway') };
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, treeCpuSeconds(pid)]));
    const started = performance.now();
    await pool(people.length, concurrency, async (n) => {
      for (let t = 0; t < turns; t++) {
        const q = nextQuestion(n);
        measured.kinds[q.kind] = (measured.kinds[q.kind] ?? 0) + 1;
        const r = await ask(people[n], q.lesson, q.message);
        if (!r) {
          measured.lost++;
          continue;
        }
        measured.ttft.push(r.ttft);
        measured.ask.push(r.ask);
        measured.total.push(r.total);
        measured.tiers[r.tier] = (measured.tiers[r.tier] ?? 0) + 1;
        if ((measured.ttft.length + measured.lost) % 50 === 0) log(`tutor: ${measured.ttft.length} replies`);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    const replies = measured.ttft.length;
    const cpuMsPerReply = Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [k, ((treeCpuSeconds(pid) - cpuBefore[k]) * 1000) / Math.max(1, replies)]),
    );
    return { ...measured, replies, seconds, warmLost, cpuMsPerReply, lessons: lessons.length, learners };
  } finally {
    for (const client of clients) client.dispose();
    await ai.end();
    await platform.stop();
  }
}
