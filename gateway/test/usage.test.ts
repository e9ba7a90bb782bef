/**
 * Usage per client (gateway/src/usage): the gateway (createGatewayApp over the committed supergraph,
 * in-process, its subgraphs one local HTTP server) counts a known sequence of requests, and the
 * report it publishes to a NATS of the test's own, as the `gateway` user, holds exactly those
 * counts. Then the plugin alone in a small yoga server (partner keys, unregistered documents,
 * hostile headers, the bound on keys) and the reporter keeping counts a failed publish did not deliver.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { GatewayEvents } from '@coursegraph/contracts';
import {
  OPERATION_BATCH,
  createLogger,
  natsConnectOptions,
  parseEvent,
  readConfig,
  type EventPayload,
} from '@coursegraph/service-kit';
import { eventually, privateNats, type PrivateNats } from '@coursegraph/test-support';
import { gatewaySettings } from '../src/config.js';
import { createGatewayApp } from '../src/app.js';
import { noteRequestClient } from '../src/request-client.js';
import { USAGE_LATENCY_BUCKETS_MS } from '../src/usage/index.js';
import { OVERFLOW_OPERATION, UNPARSED_OPERATION, UsageCounts } from '../src/usage/counts.js';
import { cleanLabel, useUsageCounting } from '../src/usage/plugin.js';
import { startUsageReporter } from '../src/usage/reporter.js';

const SUBGRAPHS = ['identity', 'course', 'enrollment', 'payment', 'notification', 'search'];
const logger = createLogger('gateway-usage-test', 'silent');

let nats: PrivateNats;
let operator: NatsConnection;
let jsm: JetStreamManager;

type Report = EventPayload<typeof GatewayEvents.usageReported>;

/** Every report the GATEWAY stream holds, decoded and checked as identity's consumer will (envelope included). */
async function reports(): Promise<Report[]> {
  const info = await jsm.streams.info('GATEWAY');
  const out: Report[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage('GATEWAY', { seq });
    const event = parseEvent(
      { subject: m.subject, headers: m.header, data: m.data, streamSequence: seq, deliveryCount: 1 },
      GatewayEvents.usageReported,
    );
    expect(event.source).toBe('gateway');
    out.push(event.payload as Report);
  }
  return out;
}

/** The reports' rows summed per key `client|version|partner|operation|document`, numbers as plain numbers. */
function summed(all: Report[]) {
  const rows = new Map<string, { requests: number; errors: number; unregistered: number; buckets: number[] }>();
  for (const report of all) {
    for (const c of report.counts) {
      const key = [c.client, c.clientVersion, c.partnerId, c.operationName, c.documentId].join('|');
      const row = rows.get(key) ?? {
        requests: 0,
        errors: 0,
        unregistered: 0,
        buckets: new Array<number>(USAGE_LATENCY_BUCKETS_MS.length + 1).fill(0),
      };
      row.requests += Number(c.requests);
      row.errors += Number(c.errors);
      row.unregistered += Number(c.unregistered);
      c.latencyBuckets.forEach((n, i) => (row.buckets[i]! += Number(n)));
      rows.set(key, row);
    }
  }
  return rows;
}

beforeAll(async () => {
  nats = await privateNats();
  await nats.start();
  operator = await connect(natsConnectOptions(nats.url));
  jsm = await jetstreamManager(operator);
});

afterAll(async () => {
  await operator?.close();
  await nats?.dispose();
});

describe('the gateway counts each request per client and operation, and reports it', () => {
  let server: http.Server;
  let app: Awaited<ReturnType<typeof createGatewayApp>>;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ data: { catalog: { totalCount: 7 } } })),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const name of SUBGRAPHS) process.env[`SUBGRAPH_${name.toUpperCase()}_URL`] = `${base}/${name}/graphql`;
    const config = readConfig(gatewaySettings, {
      ...process.env,
      IDENTITY_JWKS_URL: `${base}/.well-known/jwks.json`,
      RATE_LIMITS: 'false',
      // As in production: the gateway's own NATS user, whose rights nats-config.mjs gives.
      NATS_URL: nats.urlAs('gateway'),
      // Only close() reports here, so the one report holds the whole sequence.
      GATEWAY_USAGE_REPORT_MS: '600000',
      LOG_LEVEL: 'silent',
    });
    app = await createGatewayApp(config, logger);
  });

  afterAll(async () => {
    for (const name of SUBGRAPHS) delete process.env[`SUBGRAPH_${name.toUpperCase()}_URL`];
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const post = (query: string, headers: Record<string, string> = {}, serverContext = {}) =>
    app.yoga.fetch(
      'http://gateway/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify({ query }),
      },
      serverContext,
    );

  it('publishes, on close, exactly the counts of a known sequence', async () => {
    const web = { 'apollographql-client-name': 'web', 'apollographql-client-version': '1.2.0' };
    const catalog = 'query CatalogPage { catalog(first: 1) { totalCount } }';
    for (let i = 0; i < 3; i++) expect((await post(catalog, web)).status).toBe(200);
    // Control characters are dropped and the value trimmed.
    const ios = { 'apollographql-client-name': ' ios ', 'apollographql-client-version': '7.0\t' };
    expect((await post(catalog, ios)).status).toBe(200);
    expect((await post('{ catalog(first: 1) { totalCount } }')).status).toBe(200);
    const invalid = await post('query Broken { noSuchField }', web);
    expect(((await invalid.json()) as { errors?: unknown[] }).errors).toHaveLength(1);
    const unparsable = await post('query Half {', web);
    expect(((await unparsable.json()) as { errors?: unknown[] }).errors).toHaveLength(1);
    // Not counted: the explorer page, another path, a subscription event's in-process entity query.
    await app.yoga.fetch('http://gateway/graphql', { headers: { accept: 'text/html' } });
    await app.yoga.fetch('http://gateway/health');
    expect((await post(catalog, web, { [OPERATION_BATCH]: true })).status).toBe(200);

    await app.close();

    const all = await reports();
    expect(all).toHaveLength(1);
    expect(Date.parse(all[0]!.periodStart)).toBeLessThanOrEqual(Date.parse(all[0]!.periodEnd));
    const rows = summed(all);
    const counts = Object.fromEntries(
      [...rows].map(([key, r]) => [key, { requests: r.requests, errors: r.errors, unregistered: r.unregistered }]),
    );
    expect(counts).toEqual({
      'web|1.2.0||CatalogPage|': { requests: 3, errors: 0, unregistered: 0 },
      'ios|7.0||CatalogPage|': { requests: 1, errors: 0, unregistered: 0 },
      '||||': { requests: 1, errors: 0, unregistered: 0 },
      'web|1.2.0||Broken|': { requests: 1, errors: 1, unregistered: 0 },
      [`web|1.2.0||${UNPARSED_OPERATION}|`]: { requests: 1, errors: 1, unregistered: 0 },
    });
    // Every request is in exactly one latency bucket.
    for (const row of rows.values()) expect(row.buckets.reduce((a, b) => a + b, 0)).toBe(row.requests);
  });
});

describe('the counting plugin', () => {
  const counts = new UsageCounts(5);
  // Stands in for the persisted-documents plugin: notes what it learned about the caller.
  const notePartner: Plugin = {
    onRequest({ request }) {
      const partner = request.headers.get('x-test-partner');
      if (partner)
        noteRequestClient(request, {
          partnerId: partner,
          partnerName: 'Acme\u0000 Learning',
          documentId: 'a'.repeat(64),
        });
      if (request.headers.get('x-test-unregistered')) noteRequestClient(request, { unregistered: true });
    },
  };
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'hi' } } }),
    plugins: [useUsageCounting(counts, '/graphql'), notePartner],
    logging: false,
  });
  const post = (headers: Record<string, string>) =>
    yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: 'query Hello { hello }' }),
    });

  it('names a partner key’s client by the partner, and keeps its id, document and unregistered requests', async () => {
    counts.take();
    await post({
      'x-test-partner': 'p-1',
      'apollographql-client-name': 'ignored',
      'apollographql-client-version': '2',
    });
    await post({ 'apollographql-client-name': 'web', 'x-test-unregistered': '1' });
    const rows = counts.take().counts.map(({ latencyMsTotal: _t, latencyBuckets: _b, ...row }) => row);
    expect(rows).toEqual([
      {
        client: 'Acme Learning',
        clientVersion: '2',
        partnerId: 'p-1',
        operationName: 'Hello',
        documentId: 'a'.repeat(64),
        requests: 1,
        errors: 0,
        unregistered: 0,
      },
      {
        client: 'web',
        clientVersion: '',
        partnerId: '',
        operationName: 'Hello',
        documentId: '',
        requests: 1,
        errors: 0,
        unregistered: 1,
      },
    ]);
  });

  it('keeps at most 64 characters of a client header, and at most its bound of keys, the rest under "(other)"', async () => {
    counts.take();
    await post({ 'apollographql-client-name': 'x'.repeat(5000) });
    for (let i = 0; i < 20; i++) await post({ 'apollographql-client-name': `bot-${i}` });
    const rows = counts.take().counts;
    expect(rows[0]!.client).toBe('x'.repeat(64));
    expect(rows.map((r) => r.client)).toEqual(['x'.repeat(64), 'bot-0', 'bot-1', 'bot-2', 'bot-3', '']);
    expect(rows.at(-1)).toMatchObject({ operationName: OVERFLOW_OPERATION, requests: 16 });
  });

  it('cleans labels: control characters out, trimmed, cut by code point', () => {
    expect(cleanLabel('\u0007 web\r\n')).toBe('web');
    expect(cleanLabel(null)).toBe('');
    expect(cleanLabel('😀'.repeat(70))).toBe('😀'.repeat(64));
  });
});

describe('the reporter', () => {
  it('keeps the counts of a report it could not publish and sends them with the next one', async () => {
    const counts = new UsageCounts(100);
    const reporter = startUsageReporter({ natsUrl: nats.urlAs('gateway'), counts, intervalMs: 600_000, logger });
    const key = { client: 'cli', clientVersion: '1', partnerId: '', operationName: 'Ping', documentId: '' };
    const outcome = { error: false, unregistered: false, latencyMs: 3 };
    try {
      await jsm.streams.delete('GATEWAY').catch(() => undefined);
      counts.record(key, outcome);
      // Reports wait for the connection; the first one declares the stream again.
      await eventually('the first report', async () => (await reporter.report(), counts.size === 0));
      expect((await reports()).map((r) => r.counts.map((c) => Number(c.requests)))).toEqual([[1]]);
      // The stream is gone: the publish fails and the counts stay.
      await jsm.streams.delete('GATEWAY');
      counts.record(key, outcome);
      await reporter.report();
      expect(counts.size).toBe(1);
      counts.record(key, { ...outcome, error: true, latencyMs: 40 });
      await reporter.report();
      const [next, ...more] = await reports();
      expect(more).toEqual([]);
      expect(next!.counts).toHaveLength(1);
      const row = next!.counts[0]!;
      expect([row.operationName, Number(row.requests), Number(row.errors), Number(row.latencyMsTotal)]).toEqual([
        'Ping',
        2,
        1,
        43,
      ]);
      expect(row.latencyBuckets.map(Number)).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    } finally {
      await reporter.close();
    }
  });
});
