#!/usr/bin/env node
// Event backbone benchmark (npm run bench:events). Imports the BUILT kit: run `npx tsc -b packages/service-kit`
// first. Needs PostgreSQL and NATS as for the tests (node scripts/stack.mjs up); works in a scratch schema of
// the test database and scratch streams, all removed at the end.
//   (a) outbox-to-consumer latency: events enqueued one per transaction at a steady rate; latency is the
//       consumer handler's clock minus the producer's clock when it sent COMMIT (same process,
//       performance.now()); commit_p50_ms is COMMIT's own round trip, included in the latency.
//   (b) relay throughput: rows inserted in bulk while no relay runs, then one relay publishes them all;
//       baseline in the same run: raw js.publish of the same messages (awaited acks), so the relay's
//       overhead (the select for update, marking rows published) shows as a ratio.
//   (c) consumer throughput: one durable consumer applying those events, one transaction each.
// Writes test/bench/results/events.json and events.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { natsUrl } from '../../scripts/lib/env.mjs';
import { percentile } from './lib/measure.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KIT = path.join(ROOT, 'packages/service-kit/dist');
const TEST_SUPPORT = path.join(ROOT, 'packages/test-support/dist');
if (!fs.existsSync(path.join(KIT, 'events/testing.js')) || !fs.existsSync(path.join(TEST_SUPPORT, 'eventually.js'))) {
  console.error('bench:events: build the kit and the test support first: npx tsc -b');
  process.exit(1);
}
process.env.POSTGRES_DB ||= 'coursegraph_test';
const kit = await import(path.join(KIT, 'index.js'));
const { createScratchContext, pingEvent, PingSchema } = await import(path.join(KIT, 'events/testing.js'));
// The tests' polling helper; checked every 25 ms so the throughput runs stop as soon as they are done.
const { eventually } = await import(path.join(TEST_SUPPORT, 'eventually.js'));
const waitFor = (what, check, timeoutMs) => eventually(what, check, { timeoutMs, intervalMs: 25 });
const { envelopeHeaders } = await import(path.join(KIT, 'events/envelope.js'));

// As the operator: the benchmark creates a scratch stream of its own.
const NATS_URL = natsUrl();
const SETTINGS = {
  latency_events: Number(process.env.BENCH_LATENCY_EVENTS || 2000),
  latency_rate_per_s: Number(process.env.BENCH_LATENCY_RATE || 250),
  throughput_events: Number(process.env.BENCH_THROUGHPUT_EVENTS || 20000),
  throughput_runs: Number(process.env.BENCH_RUNS || 3),
  relay_batch_size: 100,
  relay_poll_interval_ms: 1000,
};
const logger = kit.createLogger('bench-events', process.env.LOG_LEVEL || 'warn');
const log = (...args) => console.log('bench:events:', ...args);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

const scratch = await createScratchContext(
  'evbench',
  'create table $schema.sink (event_id uuid primary key, key text not null);',
);
const ctx = scratch.context;
const STREAM = ctx.toUpperCase();
const RAW_CONTEXT = `${ctx}_raw`;
const nc = await connect(kit.natsConnectOptions(NATS_URL));
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
await kit.ensureStream(jsm, RAW_CONTEXT);
const startRelay = () =>
  kit.startOutboxRelay({
    context: ctx,
    databaseUrl: scratch.databaseUrl,
    natsUrl: NATS_URL,
    logger,
    batchSize: SETTINGS.relay_batch_size,
    pollIntervalMs: SETTINGS.relay_poll_interval_ms,
  });

// Each handler does what a small projection does: one insert next to the processed_events record.
const sinkHandler = (type, onEvent) =>
  kit.on(type, async (tx, event) => {
    onEvent?.(event);
    await tx.$executeRawUnsafe(
      `insert into "${ctx}".sink (event_id, key) values ($1, $2)`,
      event.id,
      event.payload.key,
    );
  });

/**
 * One event in its own transaction. The commit clock is read when COMMIT is sent: the event becomes
 * visible to the relay somewhere during that round trip, and on a loaded machine the relay and the
 * consumer can finish before the producer has read COMMIT's answer. Returns the COMMIT round trip.
 */
async function produce(type, i, committedAt) {
  const client = await scratch.pool.connect();
  try {
    await client.query('begin');
    const tx = { $executeRawUnsafe: async (sql, ...values) => (await client.query(sql, values)).rowCount ?? 0 };
    const id = await kit.enqueueEvent(tx, ctx, type, { key: `l${i}`, seq: i });
    const sent = performance.now();
    committedAt.set(id, sent);
    await client.query('commit');
    return performance.now() - sent;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function latencyPhase() {
  const type = pingEvent(ctx, 'latency');
  const committedAt = new Map();
  const commitMs = [];
  const latencies = [];
  const relay = await startRelay();
  const consumer = await kit.startConsumer({
    context: ctx,
    name: 'latency',
    stream: STREAM,
    natsUrl: NATS_URL,
    logger,
    transaction: scratch.transaction,
    handlers: [
      sinkHandler(type, (event) => {
        const t = committedAt.get(event.id);
        if (t !== undefined) latencies.push(performance.now() - t);
      }),
    ],
  });
  const { latency_events: n, latency_rate_per_s: rate } = SETTINGS;
  log(`(a) latency: ${n} events, one per transaction, ${rate}/s`);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    commitMs.push(await produce(type, i, committedAt));
    if ((i + 1) % 500 === 0) log(`(a) ${i + 1}/${n} enqueued`);
  }
  await waitFor('every latency event', () => latencies.length === n, 120_000).catch(async (err) => {
    const unpublished = (
      await scratch.pool.query(`select count(*)::int as n from "${ctx}".outbox_events where published_at is null`)
    ).rows[0].n;
    const ci = await jsm.consumers.info(STREAM, 'latency');
    console.error({
      latencies: latencies.length,
      applied: consumer.applied,
      failures: consumer.failures,
      published: relay.published,
      unpublished,
      pending: ci.num_pending,
      ackPending: ci.num_ack_pending,
      delivered: ci.delivered,
    });
    throw err;
  });
  await consumer.stop();
  await relay.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(sorted, 50), 2),
    p99_ms: round(percentile(sorted, 99), 2),
    max_ms: round(sorted.at(-1), 2),
    mean_ms: round(sorted.reduce((s, x) => s + x, 0) / n, 2),
    events: n,
    commit_p50_ms: round(
      percentile(
        [...commitMs].sort((a, b) => a - b),
        50,
      ),
      2,
    ),
  };
}

/** `count` outbox rows for a subject of their own, inserted in chunks with no relay running. */
async function insertBulk(run, count) {
  const type = pingEvent(ctx, 'bulk', `r${run}`);
  const messages = [];
  for (let i = 0; i < count; i++) {
    const payload = Buffer.from(
      toBinary(
        PingSchema,
        create(PingSchema, { key: `b${run}-${i}`, seq: i, note: 'bulk event for the relay benchmark' }),
      ),
    );
    messages.push({ id: kit.newId(), subject: type.subject, payload, traceparent: kit.newTraceparent() });
  }
  for (let i = 0; i < count; i += 1000) {
    const chunk = messages.slice(i, i + 1000);
    await scratch.pool.query(
      `insert into "${ctx}".outbox_events (id, subject, payload, traceparent)
       select * from unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[])`,
      [
        chunk.map((m) => m.id),
        chunk.map((m) => m.subject),
        chunk.map((m) => m.payload),
        chunk.map((m) => m.traceparent),
      ],
    );
  }
  return { type, messages };
}

async function relayRun(run, count) {
  const { type, messages } = await insertBulk(run, count);
  const start = performance.now();
  const relay = await startRelay();
  await waitFor('the relay to publish everything', () => relay.published >= count, 600_000);
  const seconds = (performance.now() - start) / 1000;
  await relay.stop();
  return { type, messages, eventsPerS: count / seconds };
}

/** The same messages straight to JetStream (another stream, fresh ids so nothing is de-duplicated). */
async function rawRun(messages, window) {
  const subject = (m) => `${RAW_CONTEXT}.${m.subject.split('.').slice(1).join('.')}`;
  const start = performance.now();
  for (let i = 0; i < messages.length; i += window) {
    await Promise.all(
      messages.slice(i, i + window).map((m) => {
        const id = kit.newId();
        return js.publish(subject(m), m.payload, {
          msgID: id,
          headers: envelopeHeaders({
            id,
            subject: subject(m),
            source: RAW_CONTEXT,
            time: new Date(),
            traceparent: m.traceparent,
          }),
        });
      }),
    );
  }
  return messages.length / ((performance.now() - start) / 1000);
}

async function consumerPhase(type, count) {
  const start = performance.now();
  const consumer = await kit.startConsumer({
    context: ctx,
    name: 'throughput',
    stream: STREAM,
    natsUrl: NATS_URL,
    logger,
    transaction: scratch.transaction,
    handlers: [sinkHandler(type)],
  });
  let reported = 0;
  await waitFor(
    'the consumer to apply everything',
    () => {
      if (consumer.applied >= reported + 5000) log(`(c) ${(reported = consumer.applied)}/${count} applied`);
      return consumer.applied >= count;
    },
    600_000,
  );
  const seconds = (performance.now() - start) / 1000;
  await consumer.stop();
  return count / seconds;
}

try {
  const latency = await latencyPhase();
  log(`(a) p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms, max ${latency.max_ms} ms`);

  const n = SETTINGS.throughput_events;
  const relayRates = [];
  const rawRates = [];
  let firstRun;
  for (let run = 1; run <= SETTINGS.throughput_runs; run++) {
    // Interleaved, so drift in the shared machine's load hits both sides alike.
    const r = await relayRun(run, n);
    firstRun ??= r;
    relayRates.push(r.eventsPerS);
    rawRates.push(await rawRun(r.messages, SETTINGS.relay_batch_size));
    log(
      `(b) run ${run}: relay ${Math.round(relayRates.at(-1))} events/s, raw publish ${Math.round(rawRates.at(-1))} events/s`,
    );
  }
  const rawSequential = await rawRun(firstRun.messages.slice(0, 5000), 1);
  log(`(b) raw publish, one at a time: ${Math.round(rawSequential)} events/s`);
  const consumerRate = await consumerPhase(firstRun.type, n);
  log(`(c) consumer: ${Math.round(consumerRate)} events/s`);

  const relayRate = median(relayRates);
  const rawRate = median(rawRates);
  const results = [
    {
      name: 'outbox-to-consumer',
      p50_ms: latency.p50_ms,
      p99_ms: latency.p99_ms,
      max_ms: latency.max_ms,
      mean_ms: latency.mean_ms,
      events_per_s: Math.round(relayRate),
      latency_events: latency.events,
      commit_p50_ms: latency.commit_p50_ms,
      note: 'latency from COMMIT sent to handler start; events_per_s = relay throughput (median)',
    },
    {
      name: 'outbox-relay',
      events_per_s: Math.round(relayRate),
      runs_events_per_s: relayRates.map(Math.round),
      ratio_to_raw: round(relayRate / rawRate, 2),
    },
    {
      name: 'raw-jetstream-publish',
      events_per_s: Math.round(rawRate),
      runs_events_per_s: rawRates.map(Math.round),
      in_flight: SETTINGS.relay_batch_size,
    },
    { name: 'raw-jetstream-publish-sequential', events_per_s: Math.round(rawSequential), events: 5000, in_flight: 1 },
    {
      name: 'consumer-apply',
      events_per_s: Math.round(consumerRate),
      events: n,
      note: 'one transaction per event: processed_events + one insert',
    },
  ];
  const cpus = os.cpus();
  const report = {
    benchmark: 'events',
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model ?? 'unknown',
      memory_gb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: {
      ...SETTINGS,
      nats_server: nc.info?.version ?? 'unknown',
      postgres: (await scratch.pool.query('show server_version')).rows[0].server_version,
    },
    results,
  };
  const dir = path.join(ROOT, 'test/bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.json'), `${JSON.stringify(report, null, 2)}\n`);
  const cell = (v) => (v === undefined ? '' : String(v));
  const md = [
    `# Benchmark: events (${report.date.slice(0, 10)})`,
    '',
    `Machine: ${report.machine.cpus} × ${report.machine.model}, ${report.machine.memory_gb} GB, Node ${report.machine.node}; NATS ${report.settings.nats_server}, PostgreSQL ${report.settings.postgres}.`,
    `Latency: ${SETTINGS.latency_events} events at ${SETTINGS.latency_rate_per_s}/s, one per transaction. Throughput: ${n} events, median of ${SETTINGS.throughput_runs} runs, relay batch ${SETTINGS.relay_batch_size}.`,
    '',
    '| result | p50 ms | p99 ms | events/s | notes |',
    '|---|---:|---:|---:|---|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${cell(r.p50_ms)} | ${cell(r.p99_ms)} | ${cell(r.events_per_s)} | ${r.note ?? (r.ratio_to_raw ? `${r.ratio_to_raw} × raw publish` : r.in_flight ? `${r.in_flight} in flight` : '')} |`,
    ),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'events.md'), md);
  log(`wrote test/bench/results/events.json and events.md\n${md}`);
} finally {
  await jsm.streams.delete(STREAM).catch(() => undefined);
  await jsm.streams.delete(RAW_CONTEXT.toUpperCase()).catch(() => undefined);
  await nc.close();
  await scratch.drop();
}
