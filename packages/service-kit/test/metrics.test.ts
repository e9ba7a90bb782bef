/**
 * Prometheus metrics of a service (docs/metrics.md): a subgraph built by the kit's bootstrap and
 * served by its server, scraped over HTTP before and after a few GraphQL requests; who may scrape;
 * the event backbone's gauges and counters with the real PostgreSQL and NATS JetStream.
 */
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema } from 'graphql-yoga';
import { createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { eventually } from '@coursegraph/test-support';
import { commonSettings, readConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { dependencyProbes } from '../src/lifecycle.js';
import { serve, type RunningServer } from '../src/server.js';
import { createSubgraph, type Subgraph, type SubgraphContext } from '../src/subgraph.js';
import { parseAddressList } from '../src/metrics/address-list.js';
import { subgraphOperationLabel } from '../src/metrics/graphql.js';
import { enqueueEvent } from '../src/events/outbox.js';
import { startOutboxRelay, type OutboxRelay } from '../src/events/relay.js';
import { on, startConsumer, type EventConsumer } from '../src/events/consumer.js';
import { DEADLETTER_STREAM } from '../src/events/nats.js';
import { natsConnectOptions } from '../src/events/nats-credentials.js';
import { createScratchContext, pingEvent, type Ping, type ScratchContext } from '../src/events/testing.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const SERVICE = 'metrics-test';
const logger = createLogger(SERVICE, 'silent');

/** One series of a Prometheus text exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one series of `name` whose labels include `labels`; 0 when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

function get(url: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, contentType: String(res.headers['content-type']), body }),
        );
      })
      .on('error', reject);
  });
}

let running: RunningServer;
let subgraph: Subgraph;
let scratch: ScratchContext;
let closeProbes: () => Promise<void>;

const scrape = async () => {
  const res = await get(`${running.url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(res.body);
};

async function graphql(query: string) {
  const res = await fetch(`${running.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { errors?: unknown[] } };
}

beforeAll(async () => {
  scratch = await createScratchContext('metrics');
  const pair = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'metrics-test', alg: 'ES256', use: 'sig' };
  subgraph = createSubgraph({
    config: readConfig(commonSettings, process.env),
    logger,
    getKey: createLocalJWKSet({ keys: [jwk] }),
  });
  const schema = createSchema<SubgraphContext & Record<string, unknown>>({
    typeDefs: 'type Query { greeting: String! broken: String! } type Mutation { touch: Boolean! }',
    resolvers: {
      Query: {
        greeting: () => 'hello',
        broken: () => {
          throw new Error('broken on purpose');
        },
      },
      Mutation: { touch: () => true },
    },
  });
  const yoga = subgraph.yoga({
    schema,
    sdl: 'type Query { greeting: String! broken: String! } type Mutation { touch: Boolean! }',
    context: () => ({}),
  });
  // The scratch pool stands in for a context's Prisma client: the probe runs the same `select 1`.
  const probes = dependencyProbes(
    { $queryRawUnsafe: (sql) => scratch.pool.query(sql), $disconnect: async () => {} },
    subgraph.redis,
  );
  closeProbes = probes.close;
  // On every address, so a caller that is not loopback can be tried too.
  running = await serve({ handler: yoga, logger, port: 0, host: '0.0.0.0', ready: probes.ready });
});

afterAll(async () => {
  await running?.shutdown();
  await closeProbes?.();
  await scratch?.drop();
});

describe('GraphQL request metrics', () => {
  it('count each request by operation, type and outcome, and time it', async () => {
    const before = await scrape();
    const ok = async (query: string) => expect((await graphql(query)).body.errors).toBeUndefined();
    // CatalogPage is one of the project's persisted operations; the gateway's fetch for it counts as it.
    await ok('query CatalogPage { greeting }');
    await ok('query CatalogPage { greeting }');
    await ok('query CatalogPage__course__0 { greeting }');
    expect((await graphql('query CatalogPage { broken }')).body.errors).toHaveLength(1);
    // Any other name, and no name, are `other`: the label set stays bounded.
    await ok('query WhateverTheCallerLikes { greeting }');
    await ok('{ greeting }');
    await ok('mutation Touch { touch }');
    // Refused before execution (no such field): still an operation, answered with an error.
    expect((await graphql('query CatalogPage { nope }')).status).toBeGreaterThanOrEqual(200);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, { service: SERVICE, ...labels }) - value(before, name, { service: SERVICE, ...labels });
    const requests = 'coursegraph_graphql_requests_total';
    expect(delta(requests, { operation_type: 'query', operation: 'CatalogPage', outcome: 'ok' })).toBe(3);
    expect(delta(requests, { operation_type: 'query', operation: 'CatalogPage', outcome: 'error' })).toBe(2);
    expect(delta(requests, { operation_type: 'query', operation: 'other', outcome: 'ok' })).toBe(2);
    expect(delta(requests, { operation_type: 'mutation', operation: 'other', outcome: 'ok' })).toBe(1);
    const durations = 'coursegraph_graphql_request_duration_seconds_count';
    expect(delta(durations, { operation_type: 'query', operation: 'CatalogPage' })).toBe(5);
    // Nothing but the bounded names: no series of the caller's own operation name.
    expect(after.some((s) => Object.values(s.labels).includes('WhateverTheCallerLikes'))).toBe(false);
    // The scrape itself is no GraphQL request.
    expect(
      after.filter((s) => s.name === requests && s.labels.service === SERVICE).reduce((sum, s) => sum + s.value, 0) -
        before.filter((s) => s.name === requests && s.labels.service === SERVICE).reduce((sum, s) => sum + s.value, 0),
    ).toBe(8);
  });

  it('buckets the durations from 5 ms to 10 s', async () => {
    await graphql('query CatalogPage { greeting }');
    const les = (await scrape())
      .filter(
        (s) => s.name === 'coursegraph_graphql_request_duration_seconds_bucket' && s.labels.operation === 'CatalogPage',
      )
      .map((s) => s.labels.le);
    expect(les).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
  });

  it('names operations only from the persisted set', () => {
    const known = new Set(['CatalogPage', 'LearnerHome']);
    expect(subgraphOperationLabel('LearnerHome', known)).toBe('LearnerHome');
    expect(subgraphOperationLabel('LearnerHome__enrollment__3', known)).toBe('LearnerHome');
    expect(subgraphOperationLabel('Stranger__enrollment__3', known)).toBe('other');
    expect(subgraphOperationLabel('LearnerHome__x', known)).toBe('other');
    expect(subgraphOperationLabel(undefined, known)).toBe('other');
  });
});

describe('the service around the requests', () => {
  it('reports its dependencies up and its process metrics, all with the service label', async () => {
    const samples = await scrape();
    expect(value(samples, 'coursegraph_dependency_up', { service: SERVICE, dependency: 'postgres' })).toBe(1);
    expect(value(samples, 'coursegraph_dependency_up', { service: SERVICE, dependency: 'redis' })).toBe(1);
    expect(value(samples, 'process_cpu_seconds_total', { service: SERVICE })).toBeGreaterThan(0);
    expect(samples.filter((s) => !s.labels.service).map((s) => s.name)).toEqual([]);
  });

  it('answers /metrics in the Prometheus text format', async () => {
    const res = await get(`${running.url}/metrics`);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^# HELP coursegraph_graphql_requests_total /m);
    expect(res.body).toMatch(/^# TYPE coursegraph_graphql_request_duration_seconds histogram$/m);
  });

  // The machine's own non-loopback address: a caller from it is not loopback.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  it.skipIf(!external)('refuses callers outside loopback and METRICS_ALLOWED_CIDRS with 404', async () => {
    const refused = await get(`http://${external}:${running.port}/metrics`);
    expect(refused.status).toBe(404);
    expect(refused.body).not.toMatch(/coursegraph_/);
    // The same caller still reaches the service itself: only the metrics are closed to it.
    expect((await get(`http://${external}:${running.port}/healthz`)).status).toBe(200);
  });

  it('parses METRICS_ALLOWED_CIDRS strictly', () => {
    const list = parseAddressList('10.0.0.0/8, 192.168.1.7 ,fd00::/8');
    expect(list.has('10.20.30.40')).toBe(true);
    expect(list.has('::ffff:10.1.2.3')).toBe(true);
    expect(list.has('192.168.1.7')).toBe(true);
    expect(list.has('192.168.1.8')).toBe(false);
    expect(list.has('fd00::2')).toBe(true);
    expect(list.has(undefined)).toBe(false);
    expect(() => parseAddressList('10.0.0.0/33')).toThrow('"10.0.0.0/33" has a bad prefix length');
    expect(() => parseAddressList('example.com')).toThrow('"example.com" is not an IP address or CIDR range');
    expect(() => parseAddressList('10.0.0.0/8/1')).toThrow('is not an IP address or CIDR range');
  });
});

describe('event metrics', () => {
  let relay: OutboxRelay;
  let consumer: EventConsumer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let ctx: string;

  beforeAll(async () => {
    ctx = scratch.context;
    nc = await connect(natsConnectOptions(NATS_URL));
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await consumer?.stop();
    await relay?.stop();
    await jsm?.streams.delete(ctx.toUpperCase()).catch(() => undefined);
    await jsm?.streams.purge(DEADLETTER_STREAM, { filter: `deadletter.${ctx}.>` }).catch(() => undefined);
    await nc?.close();
  });

  it('reports the outbox backlog, parked rows, consumer outcomes, lag and dead letters', async () => {
    const type = pingEvent(ctx);
    // A row the relay gave up on (as many attempts as it allows): parked, and part of the backlog.
    await scratch.pool.query(
      `insert into "${ctx}".outbox_events (id, subject, payload, traceparent, attempts) values (gen_random_uuid(), $1, '\\x', $2, 10)`,
      [type.subject, '00-00000000000000000000000000000001-0000000000000001-01'],
    );
    for (const key of ['a', 'b', 'c', 'bad'])
      await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key } as Partial<Ping>));
    relay = await startOutboxRelay({
      context: ctx,
      databaseUrl: scratch.databaseUrl,
      natsUrl: NATS_URL,
      logger,
      pollIntervalMs: 200,
      maxAttempts: 10,
    });
    const handled: string[] = [];
    consumer = await startConsumer({
      context: ctx,
      name: 'metrics',
      stream: ctx.toUpperCase(),
      natsUrl: NATS_URL,
      logger,
      transaction: scratch.transaction,
      handlers: [
        on(type, async (_tx, event) => {
          const { key } = event.payload as unknown as Ping;
          if (key === 'bad') throw new Error('refused on purpose');
          handled.push(key);
        }),
      ],
      maxDeliver: 2,
      backoffMs: [50],
    });
    await eventually('three handled, one dead-lettered', () => handled.length === 3 && consumer.deadLettered === 1, {
      timeoutMs: 15_000,
    });

    const samples = await scrape();
    const labels = { service: SERVICE, context: ctx };
    expect(value(samples, 'coursegraph_outbox_backlog', labels)).toBe(1);
    expect(value(samples, 'coursegraph_outbox_parked', labels)).toBe(1);
    const consumed = (outcome: string) =>
      value(samples, 'coursegraph_events_consumed_total', { ...labels, consumer: 'metrics', outcome });
    expect(consumed('ok')).toBe(3);
    // `bad` failed twice: once retried, then dead-lettered (maxDeliver 2).
    expect(consumed('retry')).toBe(1);
    expect(consumed('dead_letter')).toBe(1);
    expect(value(samples, 'coursegraph_event_consumer_lag', { ...labels, consumer: 'metrics' })).toBe(0);
    expect(value(samples, 'coursegraph_dead_letters', labels)).toBe(1);
    expect(value(samples, 'coursegraph_dependency_up', { service: SERVICE, dependency: 'nats' })).toBe(1);
  });

  it('leaves out what a stopped relay or consumer can no longer read', async () => {
    await consumer.stop();
    await relay.stop();
    const samples = await scrape();
    expect(samples.filter((s) => s.labels.context === ctx && s.name !== 'coursegraph_events_consumed_total')).toEqual(
      [],
    );
  });
});
