/**
 * Subscription limits, against a NATS server of the test's own: open streams per connection, per
 * user and per client IP (refused with RATE_LIMITED/TOO_MANY_STREAMS on both transports while the
 * holder's other streams go on), and the resume window of owner streams: a learner resuming from
 * an old position does not make the gateway read everyone's notifications, yet gets their own
 * within the window.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import { jetstreamManager } from '@nats-io/jetstream';
import { newId } from '@coursegraph/service-kit';
import { EnrollmentEvents, NotificationEvents } from '@coursegraph/contracts';
import { clientIp, parseTrustedProxies } from '../src/client-ip.js';
import {
  startSubscriptionHarness,
  wsSubscribe,
  type Received,
  type SubscriptionHarness,
} from './support/subscription-harness.js';
import { eventually } from '@coursegraph/test-support';

const LIMITS = { perConnection: 3, perUser: 5, perIp: 8 };
const RESUME_WINDOW = 50;

let h: SubscriptionHarness;

beforeAll(async () => {
  // Loopback is a trusted proxy here, so each test client says which address it comes from.
  const trusted = parseTrustedProxies('127.0.0.1, ::1');
  h = await startSubscriptionHarness({
    loggerName: 'gateway-subscription-limits-test',
    bufferLimit: 1000,
    authRecheckMs: 60_000,
    limits: LIMITS,
    ownerResumeWindow: RESUME_WINDOW,
    clientIp: (req) => clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted),
  });
});

afterAll(async () => {
  await h?.stop();
});

const ENROLLMENTS = `subscription { enrollmentCreated { position enrollmentId } }`;
const NOTIFICATIONS = `subscription($after: String) { notificationAdded(after: $after) { position body } }`;

/** A graphql-ws client whose upgrade request says it comes from `ip` (through the trusted loopback proxy). */
const wsClient = (token: string, ip: string): WsClient => h.wsClient(token, { ip }).client;

/** A graphql-sse stream from `ip`, recorded until `count` results arrive, an error, or the end. */
const sseSubscribe = (token: string, ip: string, query: string, count = Infinity): Received =>
  h.sseSubscribe(token, query, {}, count, { ip });

/** The one GraphQL error a refused graphql-ws subscription got. */
const refusal = (received: Received) => (received.errors[0] as GraphQLError[])[0]!;

afterEach(async () => {
  // Every stream ends with its test and gives its places back.
  await eventually('every subscriber to leave the hub', async () =>
    Object.values(await h.subscriptions.hub.subscriberCounts()).every((n) => n === 0),
  );
});

describe('open streams per connection, user and IP', () => {
  it('one graphql-ws connection carries up to its limit; one more is refused and the others go on', async () => {
    const admin = await h.issuer.token('ADMIN');
    const client = wsClient(admin.token, '198.51.100.1');
    const subject = EnrollmentEvents.created.subject;
    const open = [
      wsSubscribe(client, ENROLLMENTS, {}, 1),
      wsSubscribe(client, ENROLLMENTS, {}, 1),
      wsSubscribe(client, ENROLLMENTS, {}, 1),
    ];
    await h.joined(subject, 3);

    const fourth = wsSubscribe(client, ENROLLMENTS);
    await fourth.done;
    expect(fourth.results).toEqual([]);
    expect(refusal(fourth).message).toBe(
      'Too many open streams for this connection: 3 are open and the limit is 3. Close one before opening another.',
    );
    expect(refusal(fourth).extensions).toEqual({
      code: 'RATE_LIMITED',
      reason: 'TOO_MANY_STREAMS',
      scope: 'connection',
      open: 3,
      limit: 3,
    });
    expect(await h.subscribers(subject)).toBe(3);

    // The connection's three streams are untouched: each gets the next event.
    const seq = await h.enrolled();
    await Promise.all(open.map((r) => r.done));
    for (const r of open)
      expect(r.results.map((x) => x.data.enrollmentCreated.position)).toEqual([`ENROLLMENT:${seq}`]);

    // Once they ended, the connection may open streams again.
    for (const r of open) r.dispose();
    await eventually(
      'the ended streams to give their places back',
      () => h.subscriptions.limits.openFor({ userId: admin.userId }).user === 0,
    );
    const again = wsSubscribe(client, ENROLLMENTS, {}, 1);
    await h.joined(subject, 1);
    await h.enrolled();
    await again.done;
    expect(again.errors).toEqual([]);
    await client.dispose();
  });

  it('one user holds up to their limit over all connections and both transports', async () => {
    const admin = await h.issuer.token('ADMIN');
    const subject = EnrollmentEvents.created.subject;
    const first = wsClient(admin.token, '198.51.100.2');
    const second = wsClient(admin.token, '198.51.100.2');
    const held = [
      wsSubscribe(first, ENROLLMENTS),
      wsSubscribe(first, ENROLLMENTS),
      wsSubscribe(second, ENROLLMENTS),
      sseSubscribe(admin.token, '198.51.100.2', ENROLLMENTS),
      sseSubscribe(admin.token, '198.51.100.2', ENROLLMENTS),
    ];
    await h.joined(subject, 5);
    expect(h.subscriptions.limits.openFor({ userId: admin.userId })).toMatchObject({ user: 5 });

    const overWs = wsSubscribe(second, ENROLLMENTS);
    await overWs.done;
    expect(refusal(overWs).extensions).toEqual({
      code: 'RATE_LIMITED',
      reason: 'TOO_MANY_STREAMS',
      scope: 'user',
      open: 5,
      limit: 5,
    });

    const overSse = await fetch(h.sseUrl, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${admin.token}`,
        'x-forwarded-for': '198.51.100.2',
      },
      body: JSON.stringify({ query: ENROLLMENTS }),
    });
    expect(overSse.status).toBe(429);
    expect((await overSse.json()).errors[0]).toMatchObject({
      extensions: { code: 'RATE_LIMITED', reason: 'TOO_MANY_STREAMS', scope: 'user', open: 5, limit: 5 },
    });

    // Another user on the same address is not held back by the first one's streams.
    const other = await h.issuer.token('ADMIN');
    const otherClient = wsClient(other.token, '198.51.100.2');
    const ok = wsSubscribe(otherClient, ENROLLMENTS, {}, 1);
    await h.joined(subject, 6);
    const seq = await h.enrolled();
    await ok.done;
    expect(ok.results[0]!.data.enrollmentCreated.position).toBe(`ENROLLMENT:${seq}`);

    for (const r of held) r.dispose();
    await Promise.all([first.dispose(), second.dispose(), otherClient.dispose()]);
    await eventually(
      'the user to hold no stream',
      () => h.subscriptions.limits.openFor({ userId: admin.userId }).user === 0,
    );
  });

  it('one client IP holds up to its limit over all users; another address is not affected', async () => {
    const subject = NotificationEvents.created.subject;
    const ip = '203.0.113.7';
    const clients: WsClient[] = [];
    const held: Received[] = [];
    // Four learners with two streams each: every user is within their limit, the address reaches its.
    for (let i = 0; i < 4; i++) {
      const learner = await h.issuer.token('LEARNER');
      const client = wsClient(learner.token, ip);
      clients.push(client);
      held.push(wsSubscribe(client, NOTIFICATIONS), wsSubscribe(client, NOTIFICATIONS));
    }
    await h.joined(subject, 8);
    expect(h.subscriptions.limits.openFor({ ip })).toMatchObject({ ip: 8 });

    const fifth = await h.issuer.token('LEARNER');
    const refused = sseSubscribe(fifth.token, ip, NOTIFICATIONS);
    await refused.done;
    expect(refused.results).toEqual([]);
    expect(refused.errors).toHaveLength(1);
    const overWs = wsSubscribe(wsClient(fifth.token, ip), NOTIFICATIONS);
    await overWs.done;
    expect(refusal(overWs).extensions).toEqual({
      code: 'RATE_LIMITED',
      reason: 'TOO_MANY_STREAMS',
      scope: 'ip',
      open: 8,
      limit: 8,
    });

    const elsewhere = wsClient(fifth.token, '203.0.113.8');
    const fromElsewhere = wsSubscribe(elsewhere, NOTIFICATIONS, {}, 1);
    await h.joined(subject, 9);
    await h.notified(fifth.userId, 'for the fifth learner');
    await fromElsewhere.done;
    expect(fromElsewhere.results[0]!.data.notificationAdded.body).toBe('for the fifth learner');

    for (const r of held) r.dispose();
    await Promise.all([...clients, elsewhere].map((c) => c.dispose()));
    await eventually('the address to hold no stream', () => h.subscriptions.limits.openFor({ ip }).ip === 0);
  });

  it('refused requests count nothing: bad input and forbidden streams leave the places free', async () => {
    const learner = await h.issuer.token('LEARNER');
    const client = wsClient(learner.token, '198.51.100.9');
    for (let i = 0; i < LIMITS.perConnection + 2; i++) {
      const forbidden = wsSubscribe(client, ENROLLMENTS);
      await forbidden.done;
      expect(refusal(forbidden).extensions!.code).toBe('FORBIDDEN');
      const malformed = wsSubscribe(client, NOTIFICATIONS, { after: 'yesterday' });
      await malformed.done;
      expect(refusal(malformed).extensions!.code).toBe('BAD_USER_INPUT');
    }
    expect(h.subscriptions.limits.openFor({ userId: learner.userId, ip: '198.51.100.9' })).toEqual({ user: 0, ip: 0 });
    await client.dispose();
  });
});

describe('the resume window of notificationAdded', () => {
  it("a learner resuming from an old position reads at most the window, not everyone's notifications, and gets their own within it", async () => {
    const alice = await h.issuer.token('LEARNER');
    const others = Array.from({ length: 20 }, () => newId());
    const other = (i: number) => h.notified(others[i % others.length]!, `for someone else ${i}`);

    const start = await other(0);
    await h.notified(alice.userId, 'alice, long ago'); // outside the window
    for (let i = 0; i < 2_000; i++) await other(i);
    const recent1 = await h.notified(alice.userId, 'alice, recently');
    for (let i = 0; i < 20; i++) await other(i);
    await h.notified(alice.userId, 'alice, just now');
    for (let i = 0; i < 10; i++) await other(i);
    const { state } = await (await jetstreamManager(h.nc)).streams.info('NOTIFICATION');
    const floor = state.last_seq - RESUME_WINDOW + 1;
    expect(recent1).toBeGreaterThanOrEqual(floor);

    const readBefore = h.subscriptions.hub.reads.backlogMessages;
    const client = wsClient(alice.token, '198.51.100.20');
    const resumed = wsSubscribe(client, NOTIFICATIONS, { after: `NOTIFICATION:${start}` }, 3);
    await eventually('the two recent notifications', () => resumed.results.length >= 2 || resumed.errors.length > 0);
    const read = h.subscriptions.hub.reads.backlogMessages - readBefore;
    await h.notified(alice.userId, 'alice, live');
    await resumed.done;
    await client.dispose();

    expect(resumed.errors).toEqual([]);
    expect(resumed.results.map((r) => r.data.notificationAdded.body)).toEqual([
      'alice, recently',
      'alice, just now',
      'alice, live',
    ]);
    // The resume began at the window's floor and says so; older events were not replayed.
    expect(resumed.results[0]!.extensions).toEqual({ missedBefore: `NOTIFICATION:${floor}` });
    // What the gateway read from the stream for this resume: the window, not the 2,000 before it.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(RESUME_WINDOW);
  });

  it('a resume within the window replays exactly what was missed, with no missedBefore', async () => {
    const bob = await h.issuer.token('LEARNER');
    const last = await h.notified(bob.userId, 'bob 1');
    await h.notified(newId(), 'someone else');
    await h.notified(bob.userId, 'bob 2');
    const client = wsClient(bob.token, '198.51.100.21');
    const resumed = wsSubscribe(client, NOTIFICATIONS, { after: `NOTIFICATION:${last}` }, 1);
    await resumed.done;
    await client.dispose();
    expect(resumed.errors).toEqual([]);
    expect(resumed.results.map((r) => r.data.notificationAdded.body)).toEqual(['bob 2']);
    expect(resumed.results[0]!.extensions).toBeUndefined();
  });

  it('staff streams are not bounded by the window: an admin replays the whole stream', async () => {
    const admin = await h.issuer.token('ADMIN');
    const seqs: number[] = [];
    for (let i = 0; i < RESUME_WINDOW + 20; i++) seqs.push(await h.enrolled());
    const client = wsClient(admin.token, '198.51.100.22');
    const resumed = wsSubscribe(
      client,
      ENROLLMENTS.replace('enrollmentCreated {', 'enrollmentCreated(after: $after) {').replace(
        'subscription {',
        'subscription($after: String) {',
      ),
      { after: `ENROLLMENT:${seqs[0]! - 1}` },
      seqs.length,
    );
    await resumed.done;
    await client.dispose();
    expect(resumed.results.map((r) => Number(r.data.enrollmentCreated.position.split(':')[1]))).toEqual(seqs);
  });
});
