/**
 * The gateway's Prometheus metrics (gateway/src/metrics.ts, docs/metrics.md): the gateway
 * (createGatewayApp over the committed supergraph, served by the kit's server) in front of local
 * HTTP server standing in for its subgraphs: course answers, search fails with 500, enrollment never
 * answers.
 * After a known sequence of queries, /metrics holds exactly the fetches, their outcomes, the
 * request counts per registered operation and the response cache's answers.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, readConfig, serve, type RunningServer } from '@coursegraph/service-kit';
import { gatewaySettings } from '../src/config.js';
import { createGatewayApp } from '../src/app.js';

const SUBGRAPHS = ['identity', 'course', 'enrollment', 'payment', 'notification', 'search', 'learning', 'video', 'ai'];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not an exposition line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** The sum of the series of `name` whose labels include `labels`. */
const total = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

let stand: http.Server;
let gateway: RunningServer;
let app: Awaited<ReturnType<typeof createGatewayApp>>;

async function scrape(base = gateway.url) {
  const res = await fetch(`${base}/metrics`);
  return { status: res.status, samples: res.status === 200 ? parseExposition(await res.text()) : [] };
}

async function query(body: Record<string, unknown>) {
  const res = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, cache: res.headers.get('x-cache'), body: (await res.json()) as { errors?: unknown[] } };
}

beforeAll(async () => {
  // course answers, search fails with 500, enrollment never answers (the call times out).
  stand = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/enrollment/')) return;
      if (req.url?.startsWith('/search/')) return void res.writeHead(500).end('down');
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          data: { catalog: { totalCount: 7, edges: [{ node: { __typename: 'Course', id: 'c1' } }] } },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => stand.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(stand.address() as AddressInfo).port}`;
  for (const name of SUBGRAPHS) process.env[`SUBGRAPH_${name.toUpperCase()}_URL`] = `${base}/${name}/graphql`;
  const config = readConfig(gatewaySettings, {
    ...process.env,
    IDENTITY_JWKS_URL: `${base}/.well-known/jwks.json`,
    RATE_LIMITS: 'false',
    GATEWAY_USAGE: 'false',
    GATEWAY_RESPONSE_CACHE: 'true',
    GATEWAY_SUBGRAPH_TIMEOUT_MS: '300',
    // One failure opens a circuit, so the second search call is not made.
    GATEWAY_BREAKER_FAILURES: '1',
    GATEWAY_BREAKER_OPEN_MS: '600000',
    LOG_LEVEL: 'silent',
  });
  const logger = createLogger('gateway', 'silent');
  app = await createGatewayApp(config, logger);
  gateway = await serve({ handler: app.handler, logger, port: 0, host: '0.0.0.0', ready: app.ready });
});

afterAll(async () => {
  await gateway?.shutdown();
  await app?.close();
  for (const name of SUBGRAPHS) delete process.env[`SUBGRAPH_${name.toUpperCase()}_URL`];
  stand?.closeAllConnections();
  await new Promise<void>((resolve) => stand?.close(() => resolve()));
});

describe('gateway metrics', () => {
  it('count subgraph fetches by outcome, requests by registered operation, and cache answers', async () => {
    const before = (await scrape()).samples;
    // Anonymous, so the response cache takes it: a miss, then a hit (no fetch).
    const catalog = await query({ query: 'query Catalog { catalog(first: 1) { totalCount } }' });
    expect(catalog.body.errors).toBeUndefined();
    expect(catalog.cache).toBe('MISS');
    expect((await query({ query: 'query Catalog { catalog(first: 1) { totalCount } }' })).cache).toBe('HIT');
    // search: 500 (error), then its circuit is open (not called).
    for (let i = 0; i < 2; i++)
      expect((await query({ query: '{ search(query: "go") { totalCount } }' })).body.errors).toHaveLength(1);
    // The project's own CatalogPage document, sent as text: counted under its name.
    const manifest = JSON.parse(
      readFileSync(new URL('../../schema/operations/persisted-documents.json', import.meta.url), 'utf8'),
    ) as Record<string, string>;
    const catalogPage = Object.values(manifest).find((text) => /query CatalogPage\b/.test(text))!;
    await query({ query: catalogPage, variables: { first: 1 }, operationName: 'CatalogPage' });
    const after = (await scrape()).samples;

    const delta = (name: string, labels: Record<string, string>) =>
      total(after, name, { service: 'gateway', ...labels }) - total(before, name, { service: 'gateway', ...labels });
    const fetches = 'coursegraph_subgraph_fetch_total';
    // Catalog's miss, and CatalogPage's course fetch (its answer lacks fields: still an answer).
    expect(delta(fetches, { subgraph: 'course', outcome: 'ok' })).toBe(2);
    expect(delta(fetches, { subgraph: 'search', outcome: 'error' })).toBe(1);
    expect(delta(fetches, { subgraph: 'search', outcome: 'circuit_open' })).toBe(1);
    expect(delta('coursegraph_subgraph_fetch_duration_seconds_count', { subgraph: 'course' })).toBe(2);
    // CatalogPage's enrollment fetch (enrollmentCount) never answers: a timeout, timed.
    expect(delta(fetches, { subgraph: 'enrollment', outcome: 'timeout' })).toBe(1);
    expect(delta('coursegraph_subgraph_fetch_duration_seconds_count', { subgraph: 'enrollment' })).toBe(1);
    // A call not made is not timed.
    expect(delta('coursegraph_subgraph_fetch_duration_seconds_count', { subgraph: 'search' })).toBe(1);

    const requests = 'coursegraph_graphql_requests_total';
    expect(delta(requests, { operation_type: 'query', operation: 'CatalogPage' })).toBe(1);
    // Names sent with unregistered text are no labels: `Catalog` counts as other.
    expect(delta(requests, { operation_type: 'query', operation: 'other', outcome: 'ok' })).toBe(2);
    expect(delta(requests, { operation_type: 'query', operation: 'other', outcome: 'error' })).toBe(2);
    expect(after.some((s) => s.labels.operation === 'Catalog')).toBe(false);

    const cache = 'coursegraph_response_cache_requests_total';
    expect(delta(cache, { result: 'miss' })).toBe(4);
    expect(delta(cache, { result: 'hit' })).toBe(1);
  });

  it('reports Redis and NATS up, with the service label', async () => {
    const { samples } = await scrape();
    for (const dependency of ['redis', 'nats'])
      expect(total(samples, 'coursegraph_dependency_up', { service: 'gateway', dependency })).toBe(1);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  it.skipIf(!external)('answers /metrics with 404 to a caller outside loopback and METRICS_ALLOWED_CIDRS', async () => {
    const refused = await fetch(`http://${external}:${gateway.port}/metrics`);
    expect(refused.status).toBe(404);
    expect(await refused.text()).not.toMatch(/coursegraph_/);
  });
});
