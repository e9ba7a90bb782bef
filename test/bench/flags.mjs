#!/usr/bin/env node
// Kill-switch benchmark (npm run bench:flags): how long after an admin switches the `tutor` flag
// off through the gateway the ai process refuses askTutor, and how long after switching it back on
// it answers again. BENCH_FLIPS flips each way (default 20).
//   off_ms = the clock when the first refused askTutor's answer arrives minus the clock when
//   setFlagEnabled's answer arrived; askTutor is asked back to back meanwhile, so the figure
//   includes up to one request's round trip (probe_ms: the median askTutor round trip);
//   on_ms = the same for switching it back on, to the first askTutor answered again.
// The change travels flags' outbox → relay (woken by NOTIFY) → NATS (FLAGS stream) → the ai
// process's plain subscription → its in-memory cache (packages/service-kit/src/flags/).
// Starts its own platform (database coursegraph_bench_flags, a NATS server and free ports).
// Needs `npm run build`, `cargo build --bins` in rust-subgraphs and the stack (node scripts/stack.mjs up).
// Writes test/bench/results/flags.json and flags.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../../scripts/lib/env.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  flips: Number(env('BENCH_FLIPS', 20)),
  database: env('BENCH_DATABASE', 'coursegraph_bench_flags'),
  flag: 'tutor',
  probe: 'askTutor by the course instructor, back to back (one in flight at a time)',
  give_up_s: 30,
};
process.env.POSTGRES_DB = SETTINGS.database;
process.env.REDIS_URL ||= 'redis://127.0.0.1:6379/4';
process.env.LOG_LEVEL = 'warn';

const { startBenchPlatform, graphql, userWithRole } = await import('./lib/platform.mjs');
const { percentile, round, treeCpuSeconds } = await import('./lib/measure.mjs');

const log = (...args) => console.log('bench:flags:', ...args);

log('starting the platform');
const platform = await startBenchPlatform({
  database: SETTINGS.database,
  logDir: path.join(ROOT, '.data/bench-logs', `flags-${Date.now()}`),
});
const { endpoint } = platform;
const admin = await userWithRole(endpoint, SETTINGS.database, 'ADMIN');
const instructor = await userWithRole(endpoint, SETTINGS.database, 'INSTRUCTOR');

// A published course with one lesson the instructor may ask the tutor about.
const { createCourse } = await graphql(
  endpoint,
  'mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }',
  {
    i: {
      title: `Kill switch ${Date.now()}`,
      category: 'programming',
      level: 'BEGINNER',
      language: 'en',
      price: { amountMinor: 0, currency: 'USD' },
    },
  },
  instructor.token,
);
const { addModule } = await graphql(
  endpoint,
  'mutation($i: AddModuleInput!) { addModule(input: $i) { id } }',
  { i: { courseId: createCourse.id, title: 'Basics' } },
  instructor.token,
);
const { addLesson } = await graphql(
  endpoint,
  'mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }',
  { i: { moduleId: addModule.id, title: 'Why switches', kind: 'ARTICLE', body: 'A kill switch turns a feature off.' } },
  instructor.token,
);
await graphql(
  endpoint,
  'mutation($c: ID!) { publishCourse(courseId: $c) { id } }',
  { c: createCourse.id },
  instructor.token,
);

/** One askTutor: 'answered', 'refused' (the kill switch) or 'other' (the lesson not yet known to ai, ...). */
async function ask() {
  const started = performance.now();
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${instructor.token}` },
    body: JSON.stringify({
      query: 'mutation($i: AskTutorInput!) { askTutor(input: $i) { id } }',
      variables: { i: { lessonId: addLesson.id, message: 'What is a kill switch?' } },
    }),
  });
  const body = await res.json();
  const at = performance.now();
  const reason = body.errors?.[0]?.extensions?.reason;
  return {
    at,
    ms: at - started,
    outcome: body.data?.askTutor ? 'answered' : reason === 'FEATURE_DISABLED' ? 'refused' : 'other',
  };
}

/** Asks back to back until `outcome`; the arrival time of the first such answer. */
async function firstAnswer(outcome, probes) {
  const deadline = performance.now() + SETTINGS.give_up_s * 1000;
  for (;;) {
    const r = await ask();
    probes.push(r.ms);
    if (r.outcome === outcome) return r.at;
    if (r.at > deadline) throw new Error(`askTutor never ${outcome} within ${SETTINGS.give_up_s} s`);
  }
}

async function setEnabled(enabled) {
  await graphql(
    endpoint,
    'mutation($k: String!, $e: Boolean!) { setFlagEnabled(key: $k, enabled: $e) { version } }',
    { k: SETTINGS.flag, e: enabled },
    admin.token,
  );
  return performance.now();
}

log('waiting for the tutor to know the lesson');
await firstAnswer('answered', []);

const cpuBefore = { ai: treeCpuSeconds(platform.pid('ai')), flags: treeCpuSeconds(platform.pid('flags')) };
const off = [];
const on = [];
const probes = [];
for (let i = 0; i < SETTINGS.flips; i++) {
  const switchedOff = await setEnabled(false);
  off.push((await firstAnswer('refused', probes)) - switchedOff);
  const switchedOn = await setEnabled(true);
  on.push((await firstAnswer('answered', probes)) - switchedOn);
  log(`flip ${i + 1}: off ${round(off.at(-1))} ms, on ${round(on.at(-1))} ms`);
}
const cpu = {
  ai: treeCpuSeconds(platform.pid('ai')) - cpuBefore.ai,
  flags: treeCpuSeconds(platform.pid('flags')) - cpuBefore.flags,
};
await platform.stop();

const summary = (name, values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    name,
    flips: values.length,
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1)),
    min_ms: round(sorted[0]),
    within_1s: values.filter((v) => v <= 1000).length,
  };
};
const sortedProbes = [...probes].sort((a, b) => a - b);
const results = {
  benchmark: 'flags',
  date: new Date().toISOString(),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${round(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`,
  settings: SETTINGS,
  results: [
    { ...summary('kill-switch-off', off), probe_p50_ms: round(percentile(sortedProbes, 50)) },
    { ...summary('switch-back-on', on), probe_p50_ms: round(percentile(sortedProbes, 50)) },
  ],
  cpu_s: { ai: round(cpu.ai, 2), flags: round(cpu.flags, 2) },
};
log(JSON.stringify(results.results));

const outDir = path.join(ROOT, 'test/bench/results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'flags.json'), `${JSON.stringify(results, null, 2)}\n`);
const row = (r) =>
  `| ${r.name} | ${r.flips} | ${r.p50_ms} | ${r.p99_ms} | ${r.min_ms} | ${r.max_ms} | ${r.within_1s}/${r.flips} | ${r.probe_p50_ms} |`;
fs.writeFileSync(
  path.join(outDir, 'flags.md'),
  [
    `# flags — ${results.date}`,
    '',
    `${results.machine}. The \`${SETTINGS.flag}\` flag switched off and on ${SETTINGS.flips} times through the gateway (setFlagEnabled, as an admin); the time from the mutation's answer to the first askTutor answered the new way (askTutor asked back to back meanwhile, so a figure includes up to one askTutor round trip, probe p50). The platform's own processes on free ports; CPU over the flips: ai ${results.cpu_s.ai} s, flags ${results.cpu_s.flags} s.`,
    '',
    '| result | flips | p50 ms | p99 ms | min ms | max ms | within 1 s | probe p50 ms |',
    '|---|---|---|---|---|---|---|---|',
    ...results.results.map(row),
    '',
  ].join('\n'),
);
log('wrote test/bench/results/flags.json and flags.md');
process.exit(0);
