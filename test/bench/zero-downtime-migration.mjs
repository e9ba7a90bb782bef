#!/usr/bin/env node
// Zero-downtime migration benchmark (npm run bench:migration): course's lessons.duration_seconds
// becomes estimated_duration_seconds (with a range check), expand → migrate → contract
// (docs/versioning.md, subgraphs/course/src/data/lesson-duration.ts), while instructors and learners
// keep using the platform through the gateway. Every request's outcome is counted; the run fails
// unless none failed and every read returned what its instructor last wrote.
//
// A platform of its own (database coursegraph_bench_migration with course's migrations up to the
// one before the change, a NATS server, free ports), then, each step under the same load, followed
// by BENCH_PHASE_SECONDS of it:
//   old release         the course subgraph as the release before the change (COURSE_LESSON_DURATION_PHASE=old)
//   expand migration    *_lesson_duration_expand: the new column (nullable) and its check (NOT VALID)
//   expand rollout      the course subgraph rolled to the expand release (writes both, reads new-else-old)
//   backfill            scripts/backfill-lesson-duration.mjs, BENCH_BATCH rows per statement
//   migrate migration   *_lesson_duration_backfill: validate the check, NOT NULL
//   contract rollout    rolled to the contract release (the new column only)
//   contract migration  *_lesson_duration_contract: drop duration_seconds
// A rollout is what a Kubernetes Deployment does with maxUnavailable 0: start the new release beside
// the old one, wait until it is ready, send new connections to it, then SIGTERM the old one (which
// finishes what it has in flight). The gateway reaches course through a small TCP forwarder standing
// in for the Service in front of the pods; restarting the only process in place would refuse
// connections while it starts, which no deployment does.
//
// BENCH_INSTRUCTORS instructors each edit a draft course of their own (add and update lessons with
// random durations, read the draft back, publish, read the published course); BENCH_LEARNERS learners
// read the catalog and those courses. BENCH_BULK_LESSONS more lessons (inserted with SQL at the start)
// give the backfill something to walk.
// Needs `npm run build`, `cargo build --bins` in rust-subgraphs and the stack (node scripts/stack.mjs up).
// Writes test/bench/results/migration.json and migration.md; exits 1 when a request failed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, contextDatabaseUrl } from '../../scripts/lib/env.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  phase_seconds: Number(env('BENCH_PHASE_SECONDS', 10)),
  instructors: Number(env('BENCH_INSTRUCTORS', 4)),
  learners: Number(env('BENCH_LEARNERS', 4)),
  bulk_lessons: Number(env('BENCH_BULK_LESSONS', 20_000)),
  batch: Number(env('BENCH_BATCH', 1000)),
  database: env('BENCH_DATABASE', 'coursegraph_bench_migration'),
  log_level: 'warn',
};
process.env.POSTGRES_DB = SETTINGS.database;
process.env.LOG_LEVEL = SETTINGS.log_level;

const { freshMigratedDatabase, migrationNames } = await import('../../scripts/prisma.mjs');
const { startPlatform, subgraphList } = await import('../../scripts/lib/platform.mjs');
const { backfillLessonDuration } = await import('../../scripts/backfill-lesson-duration.mjs');
const { checkBuilt, dropDatabase, freePort, startNats, userWithRole } = await import('./lib/platform.mjs');
const { percentile, round } = await import('./lib/measure.mjs');
const { default: pg } = await import('pg');

const log = (...args) => console.log('bench:migration:', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Generous limits: each simulated user sends without a pause, from one address.
const COMMON_ENV = {
  LOG_LEVEL: SETTINGS.log_level,
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_PER_MINUTE: '1000000',
  COURSE_LESSON_DURATION_PHASE: 'old',
};

/** The change's three migrations, by the names they were made with, and the one before them. */
const migrations = migrationNames('course');
const named = (suffix) => {
  const found = migrations.find((m) => m.endsWith(`_lesson_duration_${suffix}`));
  if (!found) throw new Error(`no prisma/course/migrations/*_lesson_duration_${suffix}`);
  return found;
};
const MIGRATION = { expand: named('expand'), backfill: named('backfill'), contract: named('contract') };
const beforeChange = migrations[migrations.indexOf(MIGRATION.expand) - 1];

/**
 * `node scripts/prisma.mjs deploy course <migration>` in a child process: deploy blocks its process,
 * and the load runs in this one. Prisma's output is shown only when it fails.
 */
const deployUntil = (migration) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/prisma.mjs'), 'deploy', 'course', migration], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`deploy course ${migration}: exit ${code}\n${output}`)),
    );
  });

/**
 * Forwards every TCP connection to `port` (changed by `to`): the Service in front of course's pods.
 * A connection keeps the instance it was opened to; when either side closes, so does the other.
 */
async function startForwarder(port) {
  let target = port;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = () => (client.destroy(), upstream.destroy());
    for (const socket of [client, upstream]) socket.on('error', close).on('close', close);
  });
  const listenPort = await freePort();
  await new Promise((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${listenPort}/graphql`, to: (p) => (target = p), close: () => server.close() };
}

/** The environment a running process was started with (Linux): a surge instance runs with the same. */
const environmentOf = (pid) =>
  Object.fromEntries(
    fs
      .readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

async function waitReady(port, child) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && child.exitCode === null;) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok) return;
    await sleep(100);
  }
  throw new Error(`course surge instance on ${port} did not become ready`);
}

// ---- the platform, with course's migrations up to the one before the change ----------------------
checkBuilt();
const logDir = path.join(ROOT, '.data/bench-logs', `migration-${Date.now()}`);
fs.mkdirSync(logDir, { recursive: true });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-migration-'));
log(`database ${SETTINGS.database}: migrations up to course/${beforeChange}`);
await freshMigratedDatabase(SETTINGS.database, {
  template: `${SETTINGS.database}_template`,
  until: { course: beforeChange },
});
const nats = await startNats();
const names = ['gateway', ...subgraphList().map((s) => s.name)];
const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
const platform = await startPlatform({
  ports,
  database: SETTINGS.database,
  env: {
    NATS_URL: nats.url,
    SEARCH_INDEX_DIR: path.join(scratch, 'search-index'),
    VIDEO_STORAGE_DIR: path.join(scratch, 'video'),
    ...COMMON_ENV,
  },
  logDir,
  log: () => {},
}).catch(async (err) => {
  await nats.dispose();
  throw err;
});
const forwarder = await startForwarder(ports.course);
// The gateway reaches course through the forwarder from now on (before any load).
await platform.restart('gateway', { signal: 'SIGTERM', env: { SUBGRAPH_COURSE_URL: forwarder.url } });
const endpoint = `${platform.gatewayUrl}/graphql`;
const courseDb = new pg.Client({ connectionString: contextDatabaseUrl('course', SETTINGS.database) });
await courseDb.connect();

/** The course instance not managed by the platform while it serves (between the two rollouts). */
let surge = null;
/** Rolls course to `phase`: new instance beside the old one, ready, traffic to it, old one drained. */
async function rollTo(phase) {
  if (!surge) {
    const port = await freePort();
    const out = fs.openSync(path.join(logDir, 'course-surge.log'), 'a');
    const child = spawn(process.execPath, [path.join(ROOT, 'subgraphs/course/dist/main.js')], {
      env: {
        ...environmentOf(platform.pid('course')),
        COURSE_PORT: String(port),
        COURSE_LESSON_DURATION_PHASE: phase,
      },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    surge = { child, port };
    await waitReady(port, child);
    forwarder.to(port);
    await platform.kill('course', 'SIGTERM');
  } else {
    // Back on the platform's own port: `restart` starts it (it was stopped by the first rollout) and waits until it is ready.
    await platform.restart('course', { signal: 'SIGTERM', env: { COURSE_LESSON_DURATION_PHASE: phase } });
    forwarder.to(ports.course);
    const exited = new Promise((resolve) => surge.child.once('exit', resolve));
    surge.child.kill('SIGTERM');
    await exited;
    surge = null;
  }
}

// ---- load ----------------------------------------------------------------------------------------
/** Every request: the step it started in, its operation, its time, and whether it failed. */
const records = [];
let step = 'setup';
let running = true;
/** Reads that did not return what their instructor last wrote (a failure too). */
const wrong = [];

async function request(op, query, variables, token) {
  const started = performance.now();
  const during = step;
  let body = null;
  let failure = null;
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    body = await res.json().catch(() => null);
    if (res.status >= 400 || !body?.data || body.errors?.length)
      failure = `${res.status} ${JSON.stringify(body?.errors ?? body).slice(0, 300)}`;
  } catch (err) {
    failure = err.message;
  }
  if (step !== 'setup') records.push({ step: during, op, ms: performance.now() - started, failure });
  return failure ? null : body.data;
}

const mustHave = (data, what) => {
  if (!data) throw new Error(`set-up: ${what} failed (see the log in ${logDir})`);
  return data;
};
const duration = () => Math.floor(Math.random() * 7200);
const LESSON = `mutation($i: AddLessonInput!) { addLesson(input: $i) { id durationSeconds } }`;

/** One instructor's draft course with a module and a lesson, published once. */
async function instructorCourse(n) {
  const who = await userWithRole(endpoint, SETTINGS.database, 'INSTRUCTOR', `migration${n}`);
  const { createCourse } = mustHave(
    await request(
      'createCourse',
      `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
      {
        i: {
          title: `Migration bench ${n} ${Date.now()}`,
          category: 'programming',
          level: 'BEGINNER',
          language: 'en',
          summary: 'Edited while its lessons table migrates',
          price: { amountMinor: 0, currency: 'USD' },
        },
      },
      who.token,
    ),
    'createCourse',
  );
  const { addModule } = mustHave(
    await request(
      'addModule',
      `mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`,
      { i: { courseId: createCourse.id, title: 'Basics' } },
      who.token,
    ),
    'addModule',
  );
  const expected = new Map();
  const seconds = duration();
  const { addLesson } = mustHave(
    await request(
      'addLesson',
      LESSON,
      { i: { moduleId: addModule.id, title: 'Lesson 1', kind: 'ARTICLE', body: 'Text.', durationSeconds: seconds } },
      who.token,
    ),
    'addLesson',
  );
  expected.set(addLesson.id, seconds);
  mustHave(
    await request(
      'publishCourse',
      `mutation($c: ID!) { publishCourse(courseId: $c) { id } }`,
      { c: createCourse.id },
      who.token,
    ),
    'publishCourse',
  );
  return { token: who.token, courseId: createCourse.id, moduleId: addModule.id, expected };
}

/** Compares durations read back with what the instructor last wrote. */
function check(course, what, lessons) {
  for (const l of lessons) {
    if (course.expected.has(l.id) && course.expected.get(l.id) !== l.durationSeconds)
      wrong.push({ step, what, lesson: l.id, expected: course.expected.get(l.id), read: l.durationSeconds });
  }
}

async function instructorLoop(course) {
  for (let i = 0; running; i++) {
    const seconds = duration();
    if (course.expected.size < 12) {
      const data = await request(
        'addLesson',
        LESSON,
        {
          i: {
            moduleId: course.moduleId,
            title: `Lesson ${i}`,
            kind: 'ARTICLE',
            body: 'Text.',
            durationSeconds: seconds,
          },
        },
        course.token,
      );
      if (data) {
        course.expected.set(data.addLesson.id, seconds);
        check(course, 'addLesson', [data.addLesson]);
      }
    } else {
      const ids = [...course.expected.keys()];
      const lessonId = ids[Math.floor(Math.random() * ids.length)];
      const data = await request(
        'updateLesson',
        `mutation($i: UpdateLessonInput!) { updateLesson(input: $i) { id durationSeconds } }`,
        { i: { lessonId, durationSeconds: seconds } },
        course.token,
      );
      if (data) {
        course.expected.set(lessonId, seconds);
        check(course, 'updateLesson', [data.updateLesson]);
      }
    }
    const draft = await request(
      'readDraft',
      `query($id: ID!) { course(id: $id) { draft { modules { lessons { id durationSeconds } } } } }`,
      { id: course.courseId },
      course.token,
    );
    if (draft)
      check(
        course,
        'readDraft',
        draft.course.draft.modules.flatMap((m) => m.lessons),
      );
    if (i % 8 === 7) {
      const published = await request(
        'publishCourse',
        `mutation($c: ID!) { publishCourse(courseId: $c) { id modules { lessons { id durationSeconds } } } }`,
        { c: course.courseId },
        course.token,
      );
      if (published)
        check(
          course,
          'publishCourse',
          published.publishCourse.modules.flatMap((m) => m.lessons),
        );
    }
  }
}

async function learnerLoop(token, courses) {
  for (let i = 0; running; i++) {
    await request(
      'catalog',
      `query { catalog(first: 10) { totalCount edges { node { id title lessonCount } } } }`,
      {},
      token,
    );
    await request(
      'coursePage',
      `query($id: ID!) { course(id: $id) { title version modules { title lessons { title kind durationSeconds } } } }`,
      { id: courses[i % courses.length].courseId },
      token,
    );
  }
}

// ---- the run ---------------------------------------------------------------------------------------
const steps = [];
let exitCode = 1;
try {
  const courses = [];
  for (let n = 0; n < SETTINGS.instructors; n++) courses.push(await instructorCourse(n));
  const learners = [];
  for (let n = 0; n < SETTINGS.learners; n++)
    learners.push((await userWithRole(endpoint, SETTINGS.database, 'LEARNER', `migration-learner${n}`)).token);
  // Rows for the backfill to walk, in a course of their own that no request reads.
  const bulk = await instructorCourse(SETTINGS.instructors);
  await courseDb.query(
    `insert into lessons (id, course_id, module_id, position, title, kind, duration_seconds)
     select gen_random_uuid(), $1, $2, g + 1, 'Bulk ' || g, 'ARTICLE'::"LessonKind", (g * 37) % 7200
     from generate_series(0, $3 - 1) g`,
    [bulk.courseId, bulk.moduleId, SETTINGS.bulk_lessons],
  );
  log(`${SETTINGS.instructors} instructors, ${SETTINGS.learners} learners, ${SETTINGS.bulk_lessons} bulk lessons`);

  step = 'old release';
  const load = [...courses.map(instructorLoop), ...learners.map((t) => learnerLoop(t, courses))];
  const actions = [
    ['old release', async () => {}],
    ['expand migration', () => deployUntil(MIGRATION.expand)],
    ['expand rollout', () => rollTo('expand')],
    [
      'backfill',
      () =>
        backfillLessonDuration({
          databaseUrl: contextDatabaseUrl('course', SETTINGS.database),
          batch: SETTINGS.batch,
          log: (line) => log(line),
        }),
    ],
    ['migrate migration', () => deployUntil(MIGRATION.backfill)],
    ['contract rollout', () => rollTo('contract')],
    ['contract migration', () => deployUntil(MIGRATION.contract)],
  ];
  for (const [name, action] of actions) {
    step = name;
    const started = performance.now();
    const outcome = await action();
    const actionMs = performance.now() - started;
    log(`${name}: done in ${round(actionMs / 1000, 1)} s`);
    steps.push({ name, action_s: round(actionMs / 1000, 2), ...(outcome ? { outcome } : {}) });
    await sleep(SETTINGS.phase_seconds * 1000);
  }
  running = false;
  await Promise.all(load);

  const { rows: columns } = await courseDb.query(
    `select column_name from information_schema.columns where table_schema = 'course' and table_name = 'lessons'
       and column_name in ('duration_seconds', 'estimated_duration_seconds') order by 1`,
  );
  const { rows: constraint } = await courseDb.query(
    `select convalidated from pg_constraint where conname = 'lessons_estimated_duration_seconds_range'`,
  );
  const rows = steps.map((s) => {
    const mine = records.filter((r) => r.step === s.name);
    const ms = mine.map((r) => r.ms).sort((a, b) => a - b);
    return {
      ...s,
      requests: mine.length,
      failed: mine.filter((r) => r.failure).length,
      wrong: wrong.filter((w) => w.step === s.name).length,
      writes: mine.filter((r) => ['addLesson', 'updateLesson', 'publishCourse'].includes(r.op)).length,
      p50_ms: round(percentile(ms, 50), 1),
      p99_ms: round(percentile(ms, 99), 1),
      max_ms: round(ms.at(-1) ?? NaN, 1),
    };
  });
  const total = {
    requests: records.length,
    failed: records.filter((r) => r.failure).length,
    wrong: wrong.length,
    columns: columns.map((c) => c.column_name),
    check_validated: constraint[0]?.convalidated ?? false,
  };
  const result = {
    benchmark: 'migration',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    settings: SETTINGS,
    migrations: MIGRATION,
    results: [...rows, { name: 'all', ...total }],
    failures: [...records.filter((r) => r.failure).slice(0, 20), ...wrong.slice(0, 20)],
  };
  const md = [
    '# Zero-downtime migration: lessons.duration_seconds → estimated_duration_seconds',
    '',
    `${result.date}, ${result.machine.cpus} CPUs (${result.machine.model}), Node ${result.machine.node}.`,
    `${SETTINGS.instructors} instructors editing and publishing their courses, ${SETTINGS.learners} learners reading the`,
    `catalog and those courses, through the gateway, without a pause; ${SETTINGS.bulk_lessons} more lessons for the`,
    `backfill (${SETTINGS.batch} per statement); each step followed by ${SETTINGS.phase_seconds} s of load.`,
    '`wrong`: reads that did not return what the instructor last wrote. `npm run bench:migration` (test/bench/zero-downtime-migration.mjs).',
    '',
    '| step | step took (s) | requests | of them writes | failed | wrong | p50 (ms) | p99 (ms) | max (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.action_s} | ${r.requests} | ${r.writes} | ${r.failed} | ${r.wrong} | ${r.p50_ms} | ${r.p99_ms} | ${r.max_ms} |`,
    ),
    `| **all** | | ${total.requests} | | **${total.failed}** | **${total.wrong}** | | | |`,
    '',
    `After the contract migration lessons has ${total.columns.join(', ')}; the range check is ${total.check_validated ? 'validated' : 'NOT validated'}.`,
    '',
  ].join('\n');
  const results = path.join(ROOT, 'test/bench/results');
  fs.writeFileSync(path.join(results, 'migration.json'), `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(path.join(results, 'migration.md'), md);
  console.log(md);
  if (total.failed > 0 || total.wrong > 0) console.log(JSON.stringify(result.failures, null, 2));
  const finished =
    total.failed === 0 &&
    total.wrong === 0 &&
    total.columns.join() === 'estimated_duration_seconds' &&
    total.check_validated;
  exitCode = finished ? 0 : 1;
} finally {
  running = false;
  await courseDb.end();
  if (surge && surge.child.exitCode === null) surge.child.kill('SIGTERM');
  await platform.stop();
  forwarder.close();
  await nats.dispose();
  fs.rmSync(scratch, { recursive: true, force: true });
  await dropDatabase(SETTINGS.database);
}
process.exit(exitCode);
