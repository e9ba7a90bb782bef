/**
 * Subscription limits, against a NATS server of the test's own: open streams per connection, per
 * user and per client IP (refused with RATE_LIMITED/TOO_MANY_STREAMS on both transports while the
 * holder's other streams go on), and the resume window of owner streams: a learner resuming from
 * an old position does not make the gateway read everyone's notifications, yet gets their own
 * within the window.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import WebSocket from 'ws';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { create, toBinary } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createAuthVerifier, createLogger, createRedis, envelopeHeaders, ensureStream, newId, newTraceparent, serve, type EventType, type RunningServer,
} from '@coursegraph/service-kit';
import { EnrollmentEvents, NotificationEvents, enrollment } from '@coursegraph/contracts';
import { createSubscriptions, SSE_PATH, type Subscriptions } from '../src/subscriptions/index.js';
import { clientIp, parseTrustedProxies } from '../src/client-ip.js';
import { loadSupergraph } from '../src/supergraph.js';
import { privateNats, type PrivateNats } from '../../test/support/private-nats.js';
import { testIssuer, type TestIssuer } from '../../test/support/tokens.js';

const SUPERGRAPH = path.resolve(import.meta.dirname, '../../schema/supergraph.graphql');
const LIMITS = { perConnection: 3, perUser: 5, perIp: 8 };
const RESUME_WINDOW = 50;

let nats: PrivateNats;
let nc: NatsConnection;
let js: JetStreamClient;
let issuer: TestIssuer;
let subscriptions: Subscriptions;
let server: RunningServer;
let redis: ReturnType<typeof createRedis>;
let wsUrl: string;
let sseUrl: string;

beforeAll(async () => {
  nats = await privateNats();
  await nats.start();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, 'enrollment');
  await ensureStream(jsm, 'notification');
  issuer = await testIssuer();
  redis = createRedis(process.env.REDIS_URL!);
  const verifier = createAuthVerifier({ getKey: issuer.getKey, issuer: 'coursegraph-identity', audience: 'coursegraph', redis });
  const { gateway } = await loadSupergraph(SUPERGRAPH);
  const logger = createLogger('gateway-subscription-limits-test', 'warn');
  // Loopback is a trusted proxy here, so each test client says which address it comes from.
  const trusted = parseTrustedProxies('127.0.0.1, ::1');
  subscriptions = await createSubscriptions({
    apiSchema: gateway.schema!,
    verifier,
    runQuery: async () => ({ errors: [new GraphQLError('no subgraphs run in this test')] }),
    natsUrl: nats.url,
    logger,
    webSocketPath: '/graphql',
    bufferLimit: 1000,
    slowCloseGraceMs: 10_000,
    authRecheckMs: 60_000,
    limits: LIMITS,
    ownerResumeWindow: RESUME_WINDOW,
    clientIp: (req) => clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted),
  });
  server = await serve({
    logger,
    port: 0,
    handler: (req, res) => (req.url?.split('?')[0] === SSE_PATH ? subscriptions.sse(req, res) : res.writeHead(404).end()),
  });
  subscriptions.attach(server.server);
  wsUrl = server.url.replace('http', 'ws') + '/graphql';
  sseUrl = server.url + SSE_PATH;
});

afterAll(async () => {
  await subscriptions?.close();
  await server?.shutdown();
  await nc?.close();
  await nats?.dispose();
  redis?.disconnect();
});

async function publish<E extends EventType>(event: E, init: Record<string, unknown>): Promise<number> {
  const id = newId();
  const context = event.subject.split('.')[0]!;
  const ack = await js.publish(event.subject, toBinary(event.schema, create(event.schema, init as never)), {
    msgID: id,
    headers: envelopeHeaders({ id, subject: event.subject, source: context, time: new Date(), traceparent: newTraceparent() }),
  });
  return ack.seq;
}

const enrolled = () =>
  publish(EnrollmentEvents.created, { enrollmentId: newId(), userId: newId(), courseId: newId(), mode: enrollment.EnrollmentMode.FREE, enrolledAt: new Date().toISOString() });

const notified = (userId: string, body: string) =>
  publish(NotificationEvents.created, { notificationId: newId(), userId, type: 'ENROLLMENT_CREATED', category: 'ENROLLMENT', title: 'Welcome', body, createdAt: new Date().toISOString(), courseId: '' });

const ENROLLMENTS = `subscription { enrollmentCreated { position enrollmentId } }`;
const NOTIFICATIONS = `subscription($after: String) { notificationAdded(after: $after) { position body } }`;

interface Received {
  results: Record<string, any>[];
  errors: unknown[];
  done: Promise<void>;
  dispose: () => void;
}

/** A graphql-ws client whose upgrade request says it comes from `ip` (through the trusted loopback proxy). */
function wsClient(token: string, ip: string): WsClient {
  class FromIp extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { 'x-forwarded-for': ip } });
    }
  }
  return createWsClient({ url: wsUrl, webSocketImpl: FromIp, retryAttempts: 0, lazy: false, connectionParams: { authorization: `Bearer ${token}` }, onNonLazyError: () => undefined });
}

function wsSubscribe(client: WsClient, query: string, variables: Record<string, unknown> = {}, count = Infinity): Received {
  const received = { results: [], errors: [] } as unknown as Received;
  received.done = new Promise((resolve) => {
    received.dispose = client.subscribe({ query, variables }, {
      next: (value) => {
        received.results.push(value as Record<string, any>);
        if (received.results.length >= count) resolve();
      },
      error: (err) => {
        received.errors.push(err);
        resolve();
      },
      complete: () => resolve(),
    });
  });
  return received;
}

function sseSubscribe(token: string, ip: string, query: string, count = Infinity): Received {
  const client = createSseClient({ url: sseUrl, retryAttempts: 0, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } });
  const received = { results: [], errors: [] } as unknown as Received;
  received.done = new Promise((resolve) => {
    const unsubscribe = client.subscribe({ query }, {
      next: (value) => {
        received.results.push(value as Record<string, any>);
        if (received.results.length >= count) resolve();
      },
      error: (err) => {
        received.errors.push(err);
        resolve();
      },
      complete: () => resolve(),
    });
    received.dispose = () => {
      unsubscribe();
      client.dispose();
    };
  });
  return received;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const subscribers = async (subject: string) => (await subscriptions.hub.subscriberCounts())[subject] ?? 0;
const joined = (subject: string, count: number) => until(`${count} subscriber(s) of ${subject}`, async () => (await subscribers(subject)) >= count);

/** The one GraphQL error a refused graphql-ws subscription got. */
const refusal = (received: Received) => (received.errors[0] as GraphQLError[])[0]!;

afterEach(async () => {
  // Every stream ends with its test and gives its places back.
  await until('every subscriber to leave the hub', async () => Object.values(await subscriptions.hub.subscriberCounts()).every((n) => n === 0));
});

describe('open streams per connection, user and IP', () => {
  it('one graphql-ws connection carries up to its limit; one more is refused and the others go on', async () => {
    const admin = await issuer.token('ADMIN');
    const client = wsClient(admin.token, '198.51.100.1');
    const subject = EnrollmentEvents.created.subject;
    const open = [wsSubscribe(client, ENROLLMENTS, {}, 1), wsSubscribe(client, ENROLLMENTS, {}, 1), wsSubscribe(client, ENROLLMENTS, {}, 1)];
    await joined(subject, 3);

    const fourth = wsSubscribe(client, ENROLLMENTS);
    await fourth.done;
    expect(fourth.results).toEqual([]);
    expect(refusal(fourth).message).toBe('Too many open streams for this connection: 3 are open and the limit is 3. Close one before opening another.');
    expect(refusal(fourth).extensions).toEqual({ code: 'RATE_LIMITED', reason: 'TOO_MANY_STREAMS', scope: 'connection', open: 3, limit: 3 });
    expect(await subscribers(subject)).toBe(3);

    // The connection's three streams are untouched: each gets the next event.
    const seq = await enrolled();
    await Promise.all(open.map((r) => r.done));
    for (const r of open) expect(r.results.map((x) => x.data.enrollmentCreated.position)).toEqual([`ENROLLMENT:${seq}`]);

    // Once they ended, the connection may open streams again.
    for (const r of open) r.dispose();
    await until('the ended streams to give their places back', () => subscriptions.limits.openFor({ userId: admin.userId }).user === 0);
    const again = wsSubscribe(client, ENROLLMENTS, {}, 1);
    await joined(subject, 1);
    await enrolled();
    await again.done;
    expect(again.errors).toEqual([]);
    await client.dispose();
  });

  it('one user holds up to their limit over all connections and both transports', async () => {
    const admin = await issuer.token('ADMIN');
    const subject = EnrollmentEvents.created.subject;
    const first = wsClient(admin.token, '198.51.100.2');
    const second = wsClient(admin.token, '198.51.100.2');
    const held = [
      wsSubscribe(first, ENROLLMENTS), wsSubscribe(first, ENROLLMENTS), wsSubscribe(second, ENROLLMENTS),
      sseSubscribe(admin.token, '198.51.100.2', ENROLLMENTS), sseSubscribe(admin.token, '198.51.100.2', ENROLLMENTS),
    ];
    await joined(subject, 5);
    expect(subscriptions.limits.openFor({ userId: admin.userId })).toMatchObject({ user: 5 });

    const overWs = wsSubscribe(second, ENROLLMENTS);
    await overWs.done;
    expect(refusal(overWs).extensions).toEqual({ code: 'RATE_LIMITED', reason: 'TOO_MANY_STREAMS', scope: 'user', open: 5, limit: 5 });

    const overSse = await fetch(sseUrl, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${admin.token}`, 'x-forwarded-for': '198.51.100.2' },
      body: JSON.stringify({ query: ENROLLMENTS }),
    });
    expect(overSse.status).toBe(429);
    expect((await overSse.json()).errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', reason: 'TOO_MANY_STREAMS', scope: 'user', open: 5, limit: 5 } });

    // Another user on the same address is not held back by the first one's streams.
    const other = await issuer.token('ADMIN');
    const otherClient = wsClient(other.token, '198.51.100.2');
    const ok = wsSubscribe(otherClient, ENROLLMENTS, {}, 1);
    await joined(subject, 6);
    const seq = await enrolled();
    await ok.done;
    expect(ok.results[0]!.data.enrollmentCreated.position).toBe(`ENROLLMENT:${seq}`);

    for (const r of held) r.dispose();
    await Promise.all([first.dispose(), second.dispose(), otherClient.dispose()]);
    await until('the user to hold no stream', () => subscriptions.limits.openFor({ userId: admin.userId }).user === 0);
  });

  it('one client IP holds up to its limit over all users; another address is not affected', async () => {
    const subject = NotificationEvents.created.subject;
    const ip = '203.0.113.7';
    const clients: WsClient[] = [];
    const held: Received[] = [];
    // Four learners with two streams each: every user is within their limit, the address reaches its.
    for (let i = 0; i < 4; i++) {
      const learner = await issuer.token('LEARNER');
      const client = wsClient(learner.token, ip);
      clients.push(client);
      held.push(wsSubscribe(client, NOTIFICATIONS), wsSubscribe(client, NOTIFICATIONS));
    }
    await joined(subject, 8);
    expect(subscriptions.limits.openFor({ ip })).toMatchObject({ ip: 8 });

    const fifth = await issuer.token('LEARNER');
    const refused = sseSubscribe(fifth.token, ip, NOTIFICATIONS);
    await refused.done;
    expect(refused.results).toEqual([]);
    expect(refused.errors).toHaveLength(1);
    const overWs = wsSubscribe(wsClient(fifth.token, ip), NOTIFICATIONS);
    await overWs.done;
    expect(refusal(overWs).extensions).toEqual({ code: 'RATE_LIMITED', reason: 'TOO_MANY_STREAMS', scope: 'ip', open: 8, limit: 8 });

    const elsewhere = wsClient(fifth.token, '203.0.113.8');
    const fromElsewhere = wsSubscribe(elsewhere, NOTIFICATIONS, {}, 1);
    await joined(subject, 9);
    await notified(fifth.userId, 'for the fifth learner');
    await fromElsewhere.done;
    expect(fromElsewhere.results[0]!.data.notificationAdded.body).toBe('for the fifth learner');

    for (const r of held) r.dispose();
    await Promise.all([...clients, elsewhere].map((c) => c.dispose()));
    await until('the address to hold no stream', () => subscriptions.limits.openFor({ ip }).ip === 0);
  });

  it('refused requests count nothing: bad input and forbidden streams leave the places free', async () => {
    const learner = await issuer.token('LEARNER');
    const client = wsClient(learner.token, '198.51.100.9');
    for (let i = 0; i < LIMITS.perConnection + 2; i++) {
      const forbidden = wsSubscribe(client, ENROLLMENTS);
      await forbidden.done;
      expect(refusal(forbidden).extensions!.code).toBe('FORBIDDEN');
      const malformed = wsSubscribe(client, NOTIFICATIONS, { after: 'yesterday' });
      await malformed.done;
      expect(refusal(malformed).extensions!.code).toBe('BAD_USER_INPUT');
    }
    expect(subscriptions.limits.openFor({ userId: learner.userId, ip: '198.51.100.9' })).toEqual({ user: 0, ip: 0 });
    await client.dispose();
  });
});

describe('the resume window of notificationAdded', () => {
  it("a learner resuming from an old position reads at most the window, not everyone's notifications, and gets their own within it", async () => {
    const alice = await issuer.token('LEARNER');
    const others = Array.from({ length: 20 }, () => newId());
    const other = (i: number) => notified(others[i % others.length]!, `for someone else ${i}`);

    const start = await other(0);
    await notified(alice.userId, 'alice, long ago'); // outside the window
    for (let i = 0; i < 2_000; i++) await other(i);
    const recent1 = await notified(alice.userId, 'alice, recently');
    for (let i = 0; i < 20; i++) await other(i);
    await notified(alice.userId, 'alice, just now');
    for (let i = 0; i < 10; i++) await other(i);
    const { state } = await (await jetstreamManager(nc)).streams.info('NOTIFICATION');
    const floor = state.last_seq - RESUME_WINDOW + 1;
    expect(recent1).toBeGreaterThanOrEqual(floor);

    const readBefore = subscriptions.hub.reads.backlogMessages;
    const client = wsClient(alice.token, '198.51.100.20');
    const resumed = wsSubscribe(client, NOTIFICATIONS, { after: `NOTIFICATION:${start}` }, 3);
    await until('the two recent notifications', () => resumed.results.length >= 2 || resumed.errors.length > 0);
    const read = subscriptions.hub.reads.backlogMessages - readBefore;
    await notified(alice.userId, 'alice, live');
    await resumed.done;
    await client.dispose();

    expect(resumed.errors).toEqual([]);
    expect(resumed.results.map((r) => r.data.notificationAdded.body)).toEqual(['alice, recently', 'alice, just now', 'alice, live']);
    // The resume began at the window's floor and says so; older events were not replayed.
    expect(resumed.results[0]!.extensions).toEqual({ missedBefore: `NOTIFICATION:${floor}` });
    // What the gateway read from the stream for this resume: the window, not the 2,000 before it.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(RESUME_WINDOW);
  });

  it('a resume within the window replays exactly what was missed, with no missedBefore', async () => {
    const bob = await issuer.token('LEARNER');
    const last = await notified(bob.userId, 'bob 1');
    await notified(newId(), 'someone else');
    await notified(bob.userId, 'bob 2');
    const client = wsClient(bob.token, '198.51.100.21');
    const resumed = wsSubscribe(client, NOTIFICATIONS, { after: `NOTIFICATION:${last}` }, 1);
    await resumed.done;
    await client.dispose();
    expect(resumed.errors).toEqual([]);
    expect(resumed.results.map((r) => r.data.notificationAdded.body)).toEqual(['bob 2']);
    expect(resumed.results[0]!.extensions).toBeUndefined();
  });

  it('staff streams are not bounded by the window: an admin replays the whole stream', async () => {
    const admin = await issuer.token('ADMIN');
    const seqs: number[] = [];
    for (let i = 0; i < RESUME_WINDOW + 20; i++) seqs.push(await enrolled());
    const client = wsClient(admin.token, '198.51.100.22');
    const resumed = wsSubscribe(client, ENROLLMENTS.replace('enrollmentCreated {', 'enrollmentCreated(after: $after) {').replace('subscription {', 'subscription($after: String) {'), { after: `ENROLLMENT:${seqs[0]! - 1}` }, seqs.length);
    await resumed.done;
    await client.dispose();
    expect(resumed.results.map((r) => Number(r.data.enrollmentCreated.position.split(':')[1]))).toEqual(seqs);
  });
});
