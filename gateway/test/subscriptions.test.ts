/**
 * The gateway's subscription engine and both transports, against a NATS server of the test's own:
 * live delivery, exact resume, owner filtering, auth, token expiry, bad input, and a subscriber
 * that stops reading. Events are published straight to JetStream as the relays would; only scalar
 * event fields are selected here (entity fields through the supergraph are in test/e2e).
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import type WebSocket from 'ws';
import { newId, renderMetrics, revokeUserAccessBefore } from '@coursegraph/service-kit';
import { EnrollmentEvents, NotificationEvents } from '@coursegraph/contracts';
import { TOKEN_REVOKED_REASON } from '../src/subscriptions/caller.js';
import { startSubscriptionHarness, wsSubscribe, type SubscriptionHarness } from './support/subscription-harness.js';
import { eventually } from '@coursegraph/test-support';

const BUFFER_LIMIT = 50;

let h: SubscriptionHarness;

beforeAll(async () => {
  h = await startSubscriptionHarness({
    loggerName: 'gateway-subscriptions-test',
    bufferLimit: BUFFER_LIMIT,
    authRecheckMs: 200,
  });
});

afterAll(async () => {
  await h?.stop();
});

const ENROLLMENTS = `subscription($after: String) { enrollmentCreated(after: $after) { position occurredAt enrollmentId userId mode } }`;
const NOTIFICATIONS = `subscription { notificationAdded { position notificationId title body } }`;

const sequenceOf = (result: Record<string, any>, field: string) =>
  Number(String(result.data[field].position).split(':')[1]);

// Every test ends its streams; they leave the hub promptly, so each test starts from none (and a
// test that leaks a subscriber fails here).
afterEach(async () => {
  await eventually('every subscriber to leave the hub', async () =>
    Object.values(await h.subscriptions.hub.subscriberCounts()).every((n) => n === 0),
  );
});

describe('live events', () => {
  it('reach a staff subscriber over graphql-ws, in order, each with its position', async () => {
    const { token } = await h.issuer.token('ADMIN');
    const { client } = h.wsClient(token);
    const before = await h.subscribers(EnrollmentEvents.created.subject);
    const received = wsSubscribe(client, ENROLLMENTS, {}, 3);
    await h.joined(EnrollmentEvents.created.subject, before + 1);
    const userId = newId();
    const seqs = [await h.enrolled(userId), await h.enrolled(userId), await h.enrolled(userId)];
    await received.done;
    await client.dispose();
    expect(received.errors).toEqual([]);
    expect(received.results.map((r) => r.data.enrollmentCreated.position)).toEqual(seqs.map((s) => `ENROLLMENT:${s}`));
    expect(received.results[0]!.data.enrollmentCreated).toMatchObject({ userId, mode: 'FREE' });
    expect(Date.parse(received.results[0]!.data.enrollmentCreated.occurredAt)).not.toBeNaN();
  });

  it('reach a staff subscriber over SSE', async () => {
    const { token } = await h.issuer.token('ADMIN');
    const before = await h.subscribers(EnrollmentEvents.created.subject);
    const received = h.sseSubscribe(token, ENROLLMENTS, {}, 2);
    await h.joined(EnrollmentEvents.created.subject, before + 1);
    const seqs = [await h.enrolled(), await h.enrolled()];
    await received.done;
    received.dispose();
    expect(received.errors).toEqual([]);
    expect(received.results.map((r) => sequenceOf(r, 'enrollmentCreated'))).toEqual(seqs);
  });

  it("notificationAdded delivers a learner their own notifications and no one else's", async () => {
    const alice = await h.issuer.token('LEARNER');
    const bob = await h.issuer.token('LEARNER');
    const { client } = h.wsClient(alice.token);
    const before = await h.subscribers(NotificationEvents.created.subject);
    const received = wsSubscribe(client, NOTIFICATIONS, {}, 2);
    await h.joined(NotificationEvents.created.subject, before + 1);
    await h.notified(bob.userId, 'for bob');
    await h.notified(alice.userId, 'for alice 1');
    await h.notified(bob.userId, 'for bob');
    await h.notified(alice.userId, 'for alice 2');
    await received.done;
    await client.dispose();
    expect(received.results.map((r) => r.data.notificationAdded.body)).toEqual(['for alice 1', 'for alice 2']);
  });
});

describe('resume', () => {
  it('a client that reconnects with its last position receives every event it missed, in order, none twice, then live ones', async () => {
    const { token } = await h.issuer.token('ADMIN');
    const before = await h.subscribers(EnrollmentEvents.created.subject);
    const first = h.sseSubscribe(token, ENROLLMENTS, {}, 2);
    await h.joined(EnrollmentEvents.created.subject, before + 1);
    await h.enrolled();
    await h.enrolled();
    await first.done;
    first.dispose();
    const last = first.results[1]!.data.enrollmentCreated.position as string;

    // Missed while away; and more are published while the client catches up.
    const missed: number[] = [];
    for (let i = 0; i < 30; i++) missed.push(await h.enrolled());
    const { client } = h.wsClient(token);
    const resumed = wsSubscribe(client, ENROLLMENTS, { after: last }, 60);
    const during: number[] = [];
    for (let i = 0; i < 30; i++) during.push(await h.enrolled());
    await resumed.done;
    await client.dispose();

    expect(resumed.errors).toEqual([]);
    const seqs = resumed.results.map((r) => sequenceOf(r, 'enrollmentCreated'));
    expect(seqs).toEqual([...missed, ...during]);
  });

  it('rejects a malformed position, a position of another stream, and a position ahead of the stream', async () => {
    const { token } = await h.issuer.token('ADMIN');
    const { client } = h.wsClient(token);
    for (const [after, message] of [
      ['yesterday', /not a position/],
      ['PAYMENT:3', /stream PAYMENT.*reads stream ENROLLMENT/],
      ['ENROLLMENT:99999999', /ahead of the stream/],
      ['ENROLLMENT:007', /not a position/],
    ] as const) {
      const received = wsSubscribe(client, ENROLLMENTS, { after });
      await received.done;
      expect(received.results).toEqual([]);
      const [errors] = received.errors as { message: string; extensions: { code: string; field?: string } }[][];
      expect(errors![0]!.message).toMatch(message);
      expect(errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    await client.dispose();
  });
});

describe('who may subscribe', () => {
  it('a learner cannot open an internal stream; an anonymous caller cannot open any', async () => {
    const learner = await h.issuer.token('LEARNER');
    const { client } = h.wsClient(learner.token);
    const forbidden = wsSubscribe(client, ENROLLMENTS);
    await forbidden.done;
    expect((forbidden.errors[0] as GraphQLError[])[0]!.extensions!.code).toBe('FORBIDDEN');
    await client.dispose();

    const anonymous = h.wsClient(null);
    const refused = wsSubscribe(anonymous.client, NOTIFICATIONS);
    await refused.done;
    expect((refused.errors[0] as GraphQLError[])[0]).toMatchObject({
      message: 'Sign in to receive your notifications.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await anonymous.client.dispose();

    const res = await fetch(h.sseUrl, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: ENROLLMENTS }),
    });
    expect(res.status).toBe(401);
    expect((await res.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a bad token closes the WebSocket with 4401 and says why', async () => {
    const { client, closed } = h.wsClient('not-a-token');
    const received = wsSubscribe(client, NOTIFICATIONS);
    const close = await closed;
    await received.done;
    expect(close).toEqual({ code: 4401, reason: 'The access token is invalid.' });
  });

  it('a token that expires ends the stream with a clear reason, on both transports', async () => {
    const admin = await h.issuer.token('ADMIN', newId(), { expiresInSeconds: 2 });
    const { client, closed } = h.wsClient(admin.token);
    const ws = wsSubscribe(client, ENROLLMENTS);
    const sse = h.sseSubscribe(admin.token, ENROLLMENTS);
    const close = await closed;
    expect(close.code).toBe(4401);
    expect(close.reason).toMatch(/access token has expired/);
    await sse.done;
    const last = sse.results.at(-1)!;
    expect(last.errors[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' } });
    await ws.done;
    await client.dispose();
  });

  it('a token revoked while its stream is open ends the stream at the next check, on both transports', async () => {
    const subject = NotificationEvents.created.subject;
    const before = await h.subscribers(subject);
    const learner = await h.issuer.token('LEARNER');
    const { client, closed } = h.wsClient(learner.token);
    const ws = wsSubscribe(client, NOTIFICATIONS);
    const sse = h.sseSubscribe(learner.token, NOTIFICATIONS);
    await h.joined(subject, before + 2);
    // As identity does when the user signs out everywhere or is deactivated.
    await revokeUserAccessBefore(h.redis, learner.userId, 600);
    const close = await closed;
    expect(close).toEqual({ code: 4401, reason: TOKEN_REVOKED_REASON });
    await sse.done;
    expect(sse.results.at(-1)!.errors[0]).toMatchObject({
      message: TOKEN_REVOKED_REASON,
      extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' },
    });
    await ws.done;
    await eventually('the revoked subscribers to leave', async () => (await h.subscribers(subject)) === before);
    await client.dispose();
  });
});

describe('leaving', () => {
  it('a client that leaves a quiet stream, or whose token expires, leaves the hub at once (no event needed)', async () => {
    const subject = NotificationEvents.created.subject;
    const learner = await h.issuer.token('LEARNER');
    const before = await h.subscribers(subject);

    const { client } = h.wsClient(learner.token);
    wsSubscribe(client, NOTIFICATIONS);
    await h.joined(subject, before + 1);
    await client.dispose();
    await eventually('the WebSocket subscriber to leave', async () => (await h.subscribers(subject)) === before);

    const sse = h.sseSubscribe(learner.token, NOTIFICATIONS);
    await h.joined(subject, before + 1);
    sse.dispose();
    await eventually('the SSE subscriber to leave', async () => (await h.subscribers(subject)) === before);

    const shortLived = await h.issuer.token('LEARNER', newId(), { expiresInSeconds: 2 });
    const expiring = h.wsClient(shortLived.token);
    wsSubscribe(expiring.client, NOTIFICATIONS);
    const expiringSse = h.sseSubscribe(shortLived.token, NOTIFICATIONS);
    await h.joined(subject, before + 2);
    await expiring.closed;
    await expiringSse.done;
    await eventually('the expired subscribers to leave', async () => (await h.subscribers(subject)) === before);
    await expiring.client.dispose();
  });
});

describe('bad input', () => {
  it('an unknown field, a syntax error, a query and bad variables get BAD_USER_INPUT and open nothing', async () => {
    const { token } = await h.issuer.token('ADMIN');
    const { client } = h.wsClient(token);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['subscription { paymentsEverywhere { position } }', {}, /Cannot query field "paymentsEverywhere"/],
      ['subscription { enrollmentCreated { position', {}, /does not parse/],
      ['query { categories { slug } }', {}, /serves subscriptions/],
      [ENROLLMENTS, { after: 42 }, /String cannot represent a non string value/],
    ];
    for (const [query, variables, message] of cases) {
      const received = wsSubscribe(client, query, variables);
      await received.done;
      const errors = received.errors[0] as GraphQLError[];
      expect(errors[0]!.message).toMatch(message);
      expect(errors[0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
    await client.dispose();

    for (const [body, message] of [
      ['{ not json', /must be a JSON object/],
      [JSON.stringify({ query: 'subscription { nope }' }), /Cannot query field "nope"/],
    ] as const) {
      const res = await fetch(h.sseUrl, {
        method: 'POST',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
        body,
      });
      expect(res.status).toBe(400);
      const json = await res.json();
      expect(json.errors[0].message).toMatch(message);
      expect(json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('backpressure', () => {
  // Each event carries a 16 KiB body: enough of them to fill the kernel's socket buffers, so
  // the gateway really sees a reader that does not read.
  const BIG = 'x'.repeat(16 * 1024);
  const EVENTS = 1_500;

  it('a WebSocket subscriber that stops reading is disconnected with 1008 and a reason; a reading one gets everything', async () => {
    const learner = await h.issuer.token('LEARNER');
    let socket!: WebSocket;
    const slow = h.wsClient(learner.token, { onSocket: (s) => (socket = s) });
    const fast = h.wsClient(learner.token);
    const before = await h.subscribers(NotificationEvents.created.subject);
    const slowReceived = wsSubscribe(slow.client, NOTIFICATIONS);
    const fastReceived = wsSubscribe(fast.client, NOTIFICATIONS, {}, EVENTS);
    await h.joined(NotificationEvents.created.subject, before + 2);
    (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    for (let i = 0; i < EVENTS; i++) await h.notified(learner.userId, BIG);
    await eventually(
      'the slow subscriber to be cut',
      async () => (await h.subscribers(NotificationEvents.created.subject)) <= before + 1,
      { timeoutMs: 30_000 },
    );
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();

    const close = await slow.closed;
    expect(close.code).toBe(1008);
    expect(close.reason).toMatch(/^Too slow: 50 events were waiting/);
    expect(slowReceived.results.length).toBeLessThan(EVENTS);
    await fastReceived.done;
    expect(fastReceived.results).toHaveLength(EVENTS);
    await fast.client.dispose();
    await slow.client.dispose();
  });

  it('an SSE subscriber that stops reading gets a last word with the reason, then the end', async () => {
    const learner = await h.issuer.token('LEARNER');
    const before = await h.subscribers(NotificationEvents.created.subject);
    const body = JSON.stringify({ query: NOTIFICATIONS });
    const chunks: Buffer[] = [];
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        h.sseUrl,
        {
          method: 'POST',
          headers: {
            accept: 'text/event-stream',
            'content-type': 'application/json',
            authorization: `Bearer ${learner.token}`,
          },
        },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(response.statusCode).toBe(200);
    response.pause();
    await h.joined(NotificationEvents.created.subject, before + 1);
    for (let i = 0; i < EVENTS; i++) await h.notified(learner.userId, BIG);
    await eventually(
      'the slow SSE subscriber to be cut',
      async () => (await h.subscribers(NotificationEvents.created.subject)) <= before,
      { timeoutMs: 30_000 },
    );
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.resume();
    await new Promise((resolve) => response.once('end', resolve).once('close', resolve));

    const text = Buffer.concat(chunks).toString('utf8');
    const events = text.split('\n\n').filter((e) => e.startsWith('event:'));
    expect(events.at(-1)).toBe('event: complete\ndata:');
    const lastWord = JSON.parse(events.at(-2)!.replace(/^event: next\ndata: /, ''));
    expect(lastWord.errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', reason: 'SLOW_SUBSCRIBER' } });
    expect(events.length - 2).toBeLessThan(EVENTS);
  });
});

describe('metrics', () => {
  /** The sum of a subscription metric's series for `enrollmentCreated`, as /metrics shows it. */
  const value = async (name: string) =>
    (await renderMetrics()).body
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) && line.includes('field="enrollmentCreated"'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

  it('count a stream as active while it is open, and every event it delivers', async () => {
    const activeBefore = await value('coursegraph_subscriptions_active');
    const deliveredBefore = await value('coursegraph_subscription_events_delivered_total');
    const { token } = await h.issuer.token('ADMIN');
    const { client } = h.wsClient(token);
    const before = await h.subscribers(EnrollmentEvents.created.subject);
    const received = wsSubscribe(client, ENROLLMENTS, {}, 2);
    await h.joined(EnrollmentEvents.created.subject, before + 1);
    expect(await value('coursegraph_subscriptions_active')).toBe(activeBefore + 1);
    const userId = newId();
    await h.enrolled(userId);
    await h.enrolled(userId);
    await received.done;
    expect(received.errors).toEqual([]);
    expect(await value('coursegraph_subscription_events_delivered_total')).toBe(deliveredBefore + 2);
    received.dispose();
    await client.dispose();
    await eventually(
      'the ended stream to leave the active count',
      async () => (await value('coursegraph_subscriptions_active')) === activeBefore,
    );
  });
});
