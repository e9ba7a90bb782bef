#!/usr/bin/env node
// Subscription fan-out benchmark (npm run bench:subscriptions): BENCH_SUBSCRIBERS concurrent
// subscribers of the gateway's `enrollmentCreated` stream on loopback (half graphql-ws, half
// GraphQL over SSE, each on its own connection), while enrollment events are committed one per
// transaction at BENCH_RATE per second into enrollment's outbox, exactly as the enrollment
// subgraph writes them; its relay publishes them to NATS and the gateway fans them out.
//   latency = a subscriber's clock when the event arrives minus the producer's clock when its
//   COMMIT returned (one process, performance.now());
//   baseline in the same run: one plain JetStream subscriber of the same subject in this process
//   (commit → relay → NATS → client, without the gateway);
//   peak_rss_mb: the gateway's process tree, sampled every 100 ms while the subscribers are open.
// Starts its own platform (database coursegraph_bench_subscriptions, a NATS server and free ports).
// Needs `npm run build`, `cargo build --bins` in rust-subgraphs and the stack (node scripts/stack.mjs up).
// Writes test/bench/results/subscriptions.json and subscriptions.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import pg from 'pg';
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { fromBinary } from '@bufbuild/protobuf';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ROOT, contextDatabaseUrl } from '../../scripts/lib/env.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  subscribers: Number(env('BENCH_SUBSCRIBERS', 1000)),
  websocket_share: Number(env('BENCH_WS_SHARE', 0.5)),
  events: Number(env('BENCH_EVENTS', 150)),
  rate_per_s: Number(env('BENCH_RATE', 10)),
  drain_timeout_s: 20,
  database: env('BENCH_DATABASE', 'coursegraph_bench_subscriptions'),
  gateway_buffer_events: 1000,
  selection: 'enrollmentCreated { position enrollmentId userId courseId mode occurredAt }',
  clients:
    'graphql-ws 6 (ws) and graphql-sse 2 (distinct connections), one connection per subscriber, all in this process',
};
process.env.POSTGRES_DB = SETTINGS.database;
process.env.REDIS_URL ||= 'redis://127.0.0.1:6379/4';
process.env.LOG_LEVEL = 'warn';

const { startBenchPlatform, userWithRole } = await import('./lib/platform.mjs');
const { percentile, round, rssSampler, treeCpuSeconds } = await import('./lib/measure.mjs');
const kit = await import(path.join(ROOT, 'packages/service-kit/dist/index.js'));
const { EnrollmentEvents, enrollment } = await import(path.join(ROOT, 'packages/contracts/dist/index.js'));

const log = (...args) => console.log('bench:subscriptions:', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

log('starting the platform');
const platform = await startBenchPlatform({
  database: SETTINGS.database,
  // 1,000 streams of one admin from one address: far past the per-user and per-IP stream limits.
  env: {
    SUBSCRIPTION_BUFFER_EVENTS: String(SETTINGS.gateway_buffer_events),
    SUBSCRIPTION_MAX_PER_USER: '100000',
    SUBSCRIPTION_MAX_PER_IP: '100000',
  },
  logDir: path.join(ROOT, '.data/bench-logs', `subscriptions-${Date.now()}`),
});
const gatewayPid = platform.pid('gateway');
const endpoint = platform.endpoint;
// An admin: the internal streams need one.
const { token } = await userWithRole(endpoint, SETTINGS.database, 'ADMIN');

const memory = rssSampler(gatewayPid);
const gatewayCpuS = () => treeCpuSeconds(gatewayPid);
const idleRssMb = memory.now();

// The producer: enrollment's own outbox, one event per transaction. The clock starts when COMMIT is
// sent (the event cannot be visible earlier), and is recorded before it is sent, because the relay
// (woken by NOTIFY) may deliver the event before COMMIT's reply reaches this process.
const producer = new pg.Client({ connectionString: contextDatabaseUrl('enrollment', SETTINGS.database) });
await producer.connect();
const tx = { $executeRawUnsafe: async (sql, ...values) => (await producer.query(sql, values)).rowCount ?? 0 };
const committedAt = new Map();
async function commitEvent(tag) {
  const enrollmentId = kit.newId();
  await producer.query('begin');
  await kit.enqueueEvent(tx, 'enrollment', EnrollmentEvents.created, {
    enrollmentId,
    userId: kit.newId(),
    courseId: kit.newId(),
    mode: enrollment.EnrollmentMode.FREE,
    enrolledAt: new Date().toISOString(),
    orderId: '',
  });
  committedAt.set(enrollmentId, { at: performance.now(), tag });
  await producer.query('commit');
  return enrollmentId;
}

// Subscribers.
const query = `subscription { ${SETTINGS.selection} }`;
const subscribers = [];
const latencies = [];
let duplicates = 0;
let errors = 0;
function onEvent(subscriber, result) {
  const now = performance.now();
  if (result.errors) {
    errors++;
    return;
  }
  const id = result.data.enrollmentCreated.enrollmentId;
  const commit = committedAt.get(id);
  if (!commit) return;
  if (subscriber.seen.has(id)) {
    duplicates++;
    return;
  }
  subscriber.seen.add(id);
  if (commit.tag === 'measured') latencies.push(now - commit.at);
}
const sink = (subscriber) => ({
  next: (r) => onEvent(subscriber, r),
  error: () => errors++,
  complete: () => undefined,
});

const wsCount = Math.round(SETTINGS.subscribers * SETTINGS.websocket_share);
log(`opening ${wsCount} graphql-ws and ${SETTINGS.subscribers - wsCount} SSE subscribers`);
const wsUrl = endpoint.replace(/^http/, 'ws');
const sseUrl = `${endpoint}/stream`;
for (let i = 0; i < SETTINGS.subscribers; i++) {
  const subscriber = { kind: i < wsCount ? 'ws' : 'sse', seen: new Set() };
  if (subscriber.kind === 'ws') {
    const client = createWsClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    subscriber.stop = client.subscribe({ query }, sink(subscriber));
    subscriber.dispose = () => client.dispose();
  } else {
    const client = createSseClient({ url: sseUrl, retryAttempts: 0, headers: { authorization: `Bearer ${token}` } });
    subscriber.stop = client.subscribe({ query }, sink(subscriber));
    subscriber.dispose = () => client.dispose();
  }
  subscribers.push(subscriber);
  if (i % 100 === 99) await sleep(50);
}

// Warm-up: one event at a time until every subscriber has received one (so all are registered).
const ready = () => subscribers.every((s) => s.seen.size > 0);
for (let attempt = 0; !ready(); attempt++) {
  if (attempt > 60)
    throw new Error(
      `only ${subscribers.filter((s) => s.seen.size > 0).length} of ${SETTINGS.subscribers} subscribers received a warm-up event`,
    );
  await commitEvent('warmup');
  await sleep(500);
}
log(`all ${SETTINGS.subscribers} subscribers receive events; gateway RSS ${round(memory.now(), 1)} MB`);

// Baseline: a plain JetStream subscriber in this process, same subject, same events.
const nc = await connect(kit.natsConnectOptions(platform.natsUrl));
const baseline = [];
const ordered = await jetstream(nc).consumers.get('ENROLLMENT', {
  filter_subjects: EnrollmentEvents.created.subject,
  deliver_policy: DeliverPolicy.New,
});
const baselineMessages = await ordered.consume();
void (async () => {
  for await (const m of baselineMessages) {
    const now = performance.now();
    const payload = fromBinary(EnrollmentEvents.created.schema, m.data);
    const commit = committedAt.get(payload.enrollmentId);
    if (commit?.tag === 'measured') baseline.push(now - commit.at);
  }
})();
await sleep(300);

memory.reset();
const cpuBefore = gatewayCpuS();
log(`committing ${SETTINGS.events} events at ${SETTINGS.rate_per_s}/s`);
const measured = [];
const interval = 1000 / SETTINGS.rate_per_s;
const started = performance.now();
for (let i = 0; i < SETTINGS.events; i++) {
  const due = started + i * interval;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  measured.push(await commitEvent('measured'));
}
const expected = SETTINGS.events * SETTINGS.subscribers;
const deadline = Date.now() + SETTINGS.drain_timeout_s * 1000;
while (latencies.length < expected && Date.now() < deadline) await sleep(100);
const peakRssMb = memory.peak();
const gatewayCpuSeconds = gatewayCpuS() - cpuBefore;
memory.stop();

const sorted = [...latencies].sort((a, b) => a - b);
const baseSorted = [...baseline].sort((a, b) => a - b);
const fanout = {
  name: 'fanout',
  subscribers: SETTINGS.subscribers,
  events: SETTINGS.events,
  delivered: latencies.length,
  lost: expected - latencies.length,
  duplicates,
  errors,
  p50_ms: round(percentile(sorted, 50)),
  p99_ms: round(percentile(sorted, 99)),
  max_ms: round(sorted.at(-1) ?? NaN),
  deliveries_per_s: round(latencies.length / ((performance.now() - started) / 1000), 0),
  peak_rss_mb: round(peakRssMb, 1),
  idle_rss_mb: round(idleRssMb, 1),
  gateway_cpu_s: round(gatewayCpuSeconds, 1),
  wall_s: round((performance.now() - started) / 1000, 1),
};
const direct = {
  name: 'nats-direct',
  subscribers: 1,
  events: SETTINGS.events,
  delivered: baseline.length,
  p50_ms: round(percentile(baseSorted, 50)),
  p99_ms: round(percentile(baseSorted, 99)),
};
log(JSON.stringify(fanout));
log(JSON.stringify(direct));

for (const s of subscribers) {
  s.stop();
  await s.dispose();
}
await baselineMessages.close().catch(() => undefined);
await nc.close();
await producer.end();
await platform.stop();

const results = {
  benchmark: 'subscriptions',
  date: new Date().toISOString(),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${round(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`,
  settings: SETTINGS,
  results: [fanout, direct],
};
const outDir = path.join(ROOT, 'test/bench/results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'subscriptions.json'), `${JSON.stringify(results, null, 2)}\n`);
fs.writeFileSync(
  path.join(outDir, 'subscriptions.md'),
  [
    `# subscriptions — ${results.date}`,
    '',
    `${results.machine}. ${SETTINGS.subscribers} subscribers (${wsCount} graphql-ws, ${SETTINGS.subscribers - wsCount} SSE), ${SETTINGS.events} events committed at ${SETTINGS.rate_per_s}/s, latency from COMMIT to client.`,
    '',
    '| result | subscribers | delivered | lost | duplicates | p50 ms | p99 ms | max ms | peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|',
    `| fanout (through the gateway) | ${fanout.subscribers} | ${fanout.delivered} | ${fanout.lost} | ${fanout.duplicates} | ${fanout.p50_ms} | ${fanout.p99_ms} | ${fanout.max_ms} | ${fanout.peak_rss_mb} (idle ${fanout.idle_rss_mb}) |`,
    `| nats-direct (baseline, no gateway) | 1 | ${direct.delivered} | ${SETTINGS.events - direct.delivered} | – | ${direct.p50_ms} | ${direct.p99_ms} | – | – |`,
    '',
  ].join('\n'),
);
log('wrote test/bench/results/subscriptions.json and subscriptions.md');
process.exit(0);
