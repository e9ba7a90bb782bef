/**
 * Supergraph changes without a restart (gateway/src/supergraph.ts): a real gateway (createGatewayApp
 * served on a port, its graphql-ws subscriptions over a NATS of the test's own) in front of the real
 * course subgraph (in-process, on the test database), reading a supergraph file the test rewrites.
 *
 * The versions are the committed supergraph with fields of Course taken out, as a release goes:
 * the subgraph already serves `tags` and `level`; the file first lacks `tags` (added by the next
 * file), then `level` is removed. A proxy in front of the subgraph can hold calls, so a query can
 * be caught in flight while the file changes.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { create, toBinary } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EnrollmentEvents, enrollment } from '@coursegraph/contracts';
import {
  createLogger,
  createServiceYoga,
  envelopeHeaders,
  ensureStream,
  natsConnectOptions,
  newId,
  newTraceparent,
  readConfig,
  serve,
  type RunningServer,
} from '@coursegraph/service-kit';
import { ROOT, contextDatabaseUrl, eventually, privateNats, type PrivateNats } from '@coursegraph/test-support';
import { courseSettings } from '../../subgraphs/course/src/config.js';
import { createCourseApp, type CourseApp } from '../../subgraphs/course/src/app.js';
import { gatewaySettings } from '../src/config.js';
import { createGatewayApp } from '../src/app.js';
import type { GatewayContext } from '../src/context.js';
import { loadSupergraph } from '../src/supergraph.js';
import { wsSubscribe, type Received } from './support/subscription-harness.js';

const SUBGRAPHS = ['identity', 'course', 'enrollment', 'payment', 'notification', 'learning', 'ai', 'search', 'video'];
const COMMITTED = fs.readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8');

/** The committed supergraph without the given fields of `type Course`. */
function withoutCourseFields(...fields: string[]): string {
  const start = COMMITTED.indexOf('\ntype Course\n');
  const end = COMMITTED.indexOf('\n}\n', start);
  let body = COMMITTED.slice(start, end);
  for (const field of fields) {
    const line = new RegExp(`\\n  ${field}: [^\\n]*`);
    expect(body).toMatch(line);
    body = body.replace(line, '');
  }
  return COMMITTED.slice(0, start) + body + COMMITTED.slice(end);
}
const WITHOUT_TAGS = withoutCourseFields('tags');
const WITH_TAGS = COMMITTED;
const WITHOUT_LEVEL = withoutCourseFields('level');

const logger = createLogger('gateway-reload-test', 'silent');
let dir: string;
let supergraphPath: string;
let nats: PrivateNats;
let operator: NatsConnection;
let course: CourseApp;
let proxy: http.Server;
let gateway: Awaited<ReturnType<typeof createGatewayApp>>;
let server: RunningServer;
let adminToken: string;
/** While set, subgraph calls whose body holds `held.marker` wait for `held.release`. */
let held: { marker: string; waiting: number; release: () => void; released: Promise<void> } | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-supergraph-'));
  supergraphPath = path.join(dir, 'supergraph.graphql');
  fs.writeFileSync(supergraphPath, WITHOUT_TAGS);

  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  adminToken = await new SignJWT({ role: 'ADMIN', sid: randomUUID(), iat_ms: Date.now() })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setSubject(randomUUID())
    .setIssuer('coursegraph-identity')
    .setAudience('coursegraph')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);

  const courseConfig = readConfig(courseSettings, {
    ...process.env,
    COURSE_DATABASE_URL: contextDatabaseUrl('course'),
    LOG_LEVEL: 'silent',
  });
  course = await createCourseApp(courseConfig, logger, { getKey: createLocalJWKSet(jwks) });

  // The JWKS, and every subgraph URL: the course subgraph (the only one these operations reach).
  proxy = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const hold = held;
      if (hold && body.includes(hold.marker)) {
        hold.waiting++;
        await hold.released;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      const answer = await course.yoga.fetch('http://course/graphql', { method: 'POST', headers, body });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  for (const name of SUBGRAPHS) process.env[`SUBGRAPH_${name.toUpperCase()}_URL`] = `${base}/${name}/graphql`;

  nats = await privateNats();
  await nats.start();
  operator = await connect(natsConnectOptions(nats.url));
  await ensureStream(await jetstreamManager(operator), 'enrollment');

  const config = readConfig(gatewaySettings, {
    ...process.env,
    SUPERGRAPH_PATH: supergraphPath,
    IDENTITY_JWKS_URL: `${base}/.well-known/jwks.json`,
    NATS_URL: nats.urlAs('gateway'),
    RATE_LIMITS: 'false',
    GATEWAY_USAGE: 'false',
    LOG_LEVEL: 'silent',
  });
  gateway = await createGatewayApp(config, logger);
  server = await serve({ logger, port: 0, handler: gateway.handler, beforeDrain: gateway.beforeDrain });
  gateway.attach(server.server);
});

afterAll(async () => {
  held?.release();
  await server?.shutdown();
  await gateway?.close();
  await course?.close();
  await operator?.close();
  await nats?.dispose();
  for (const name of SUBGRAPHS) delete process.env[`SUBGRAPH_${name.toUpperCase()}_URL`];
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function query(text: string): Promise<{ data?: any; errors?: any[] }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: text }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

/** Publishes an EnrollmentCreated as enrollment's relay would. */
async function enrolled(): Promise<string> {
  const id = newId();
  const event = EnrollmentEvents.created;
  const enrollmentId = newId();
  const payload = create(event.schema, {
    enrollmentId,
    userId: newId(),
    courseId: newId(),
    mode: enrollment.EnrollmentMode.FREE,
    enrolledAt: new Date().toISOString(),
  });
  await jetstream(operator).publish(event.subject, toBinary(event.schema, payload), {
    msgID: id,
    headers: envelopeHeaders({
      id,
      subject: event.subject,
      source: 'enrollment',
      time: new Date(),
      traceparent: newTraceparent(),
    }),
  });
  return enrollmentId;
}

function wsClient(): Client {
  return createClient({
    url: `${server.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${adminToken}` },
  });
}

const TAGS = '{ catalog(first: 2) { totalCount edges { node { id tags } } } }';
const LEVEL = '{ catalog(first: 2) { totalCount edges { node { id level } } } }';

describe('the gateway follows its supergraph file without a restart', () => {
  let client: Client;
  let plain: Received;
  let withLevel: Received;

  beforeAll(async () => {
    client = wsClient();
    // Two streams open on the first file: one selects only the event's own fields, the other the
    // course's `level` through the supergraph.
    plain = wsSubscribe(client, 'subscription { enrollmentCreated { enrollmentId userId } }');
    withLevel = wsSubscribe(client, 'subscription { enrollmentCreated { enrollmentId course { id level } } }');
    const subject = EnrollmentEvents.created.subject;
    await eventually(
      'both streams open',
      async () => ((await gateway.subscriptions.hub.subscriberCounts())[subject] ?? 0) >= 2,
    );
  });

  afterAll(async () => {
    plain?.dispose();
    withLevel?.dispose();
    await client?.dispose();
  });

  it('serves a field the new file adds, once the file is written, keeping open streams', async () => {
    const before = await query(TAGS);
    expect(before.errors?.[0]?.message).toMatch(/Cannot query field "tags" on type "Course"/);
    const first = gateway.supergraph.current().id;

    fs.writeFileSync(supergraphPath, WITH_TAGS);
    await eventually('the new supergraph serves', async () => gateway.supergraph.current().id !== first);
    const after = await query(TAGS);
    expect(after.errors).toBeUndefined();
    expect(after.data.catalog.totalCount).toBeGreaterThanOrEqual(0);

    // Both streams survived the change and deliver the next event.
    const id = await enrolled();
    await eventually('both streams deliver', async () => plain.results.length >= 1 && withLevel.results.length >= 1);
    expect(plain.results[0]!.data.enrollmentCreated.enrollmentId).toBe(id);
    expect(withLevel.results[0]!.data.enrollmentCreated.enrollmentId).toBe(id);
    expect(plain.errors).toEqual([]);
    expect(withLevel.errors).toEqual([]);
  });

  it('keeps serving the current supergraph when the new file is malformed or not a supergraph', async () => {
    const serving = gateway.supergraph.current().id;
    for (const bad of ['type Query {', 'type Query { hello: String }', WITH_TAGS.slice(0, WITH_TAGS.length / 2)]) {
      fs.writeFileSync(supergraphPath, bad);
      const result = await gateway.supergraph.reload();
      expect(result.outcome).toBe('refused');
      expect(gateway.supergraph.current().id).toBe(serving);
      const answer = await query(TAGS);
      expect(answer.errors).toBeUndefined();
    }
  });

  it('finishes a query in flight on the schema it started with, and ends streams whose fields were removed', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    held = { marker: 'level', waiting: 0, release, released };
    const inFlight = query(LEVEL);
    await eventually('the query reached the subgraph', async () => held!.waiting >= 1);

    fs.writeFileSync(supergraphPath, WITHOUT_LEVEL);
    const reload = await gateway.supergraph.reload();
    expect(reload.outcome).toBe('updated');
    // New requests see the new schema at once ...
    const refused = await query(LEVEL);
    expect(refused.errors?.[0]?.message).toMatch(/Cannot query field "level" on type "Course"/);
    // ... while the one in flight completes on the old one.
    held.release();
    held = null;
    const finished = await inFlight;
    expect(finished.errors).toBeUndefined();
    expect(finished.data.catalog.edges.every((e: any) => typeof e.node.level === 'string')).toBe(true);

    // The stream that selects `level` was ended with the reason, then completed; the other goes on.
    await withLevel.done;
    const last = withLevel.results.at(-1)!;
    expect(last.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SCHEMA_CHANGED' });
    expect(last.errors[0].message).toMatch(/Cannot query field "level"/);
    expect(withLevel.errors).toEqual([]);
    const id = await enrolled();
    await eventually('the other stream delivers', async () => plain.results.length >= 2);
    expect(plain.results[1]!.data.enrollmentCreated.enrollmentId).toBe(id);
  });
});

it('executes a request on the version it was validated against, even when the swap comes before its execution', async () => {
  // The window a subgraph call cannot show: validated, then waiting for its context (auth), then executed.
  const file = path.join(dir, 'unwatched', 'supergraph.graphql');
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, WITH_TAGS);
  const supergraph = await loadSupergraph(file, { logger });
  let building = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const yoga = createServiceYoga<GatewayContext>({
    schema: supergraph.current().apiSchema,
    logger,
    context: async () => {
      building++;
      await gate;
      return { requestId: '', viewer: null, accessToken: null };
    },
    plugins: [supergraph.plugin()],
  });
  try {
    const answer = yoga
      .fetch('http://gateway/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: LEVEL }),
      })
      .then((res) => res.json() as Promise<{ data?: any; errors?: unknown[] }>);
    await eventually('the request was validated', async () => building === 1);
    fs.writeFileSync(file, WITHOUT_LEVEL);
    expect((await supergraph.reload()).outcome).toBe('updated');
    open();
    const { data, errors } = await answer;
    expect(errors).toBeUndefined();
    expect(data.catalog.edges.every((e: any) => typeof e.node.level === 'string')).toBe(true);
  } finally {
    open();
    await supergraph.dispose();
  }
});
