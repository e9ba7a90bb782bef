/**
 * Subscriptions bypass yoga, so they get the endpoint's guards explicitly: the operation limits
 * (tokens, shape, cost, judged against the supergraph plus the gateway's Subscription SDL) and the
 * per-IP and per-user rate limits, on both transports. A refused subscription opens no stream, its
 * error carries the code, reason and figures, and nothing about yoga's HTTP instructions leaks.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLError } from 'graphql';
import {
  commonSettings,
  createLogger,
  createOperationLimiter,
  createRedis,
  readConfig,
} from '@coursegraph/service-kit';
import { clientIp, createClientIp, parseTrustedProxies } from '../src/client-ip.js';
import { createRateLimits } from '../src/rate-limit/index.js';
import { SUBSCRIPTIONS_SDL } from '../src/subscriptions/index.js';
import {
  startSubscriptionHarness,
  wsSubscribe,
  type Received,
  type SubscriptionHarness,
} from './support/subscription-harness.js';
import { eventually } from '@coursegraph/test-support';

const SUPERGRAPH = readFileSync(path.resolve(import.meta.dirname, '../../schema/supergraph.graphql'), 'utf8');
const LIMITS = { ...readConfig(commonSettings, {}), limitMaxDepth: 6, limitMaxTokens: 200, limitMaxCostAdmin: 10 };
const IP_PER_MINUTE = 3;

let h: SubscriptionHarness;
let redis: ReturnType<typeof createRedis>;
const prefix = `test:subscription-guards:${Date.now()}:`;

beforeAll(async () => {
  const trusted = parseTrustedProxies('127.0.0.1, ::1');
  redis = createRedis(process.env.REDIS_URL!);
  const rateLimits = createRateLimits({
    redis,
    limits: {
      ipPerMinute: IP_PER_MINUTE,
      userPerMinute: 1000,
      authPerMinute: 1000,
      enrolPerMinute: 1000,
      checkoutPerMinute: 1000,
    },
    clientIp: createClientIp({ trustedProxies: trusted, signingSecret: 'subscription-guards-test-secret-0123456789' }),
    userOf: async () => null,
    logger: createLogger('subscription-guards-test', 'warn'),
    keyPrefix: prefix,
  });
  h = await startSubscriptionHarness({
    loggerName: 'subscription-guards-test',
    bufferLimit: 1000,
    authRecheckMs: 60_000,
    clientIp: (req) => clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted),
    operationLimits: createOperationLimiter({ config: LIMITS, sdl: `${SUPERGRAPH}\n${SUBSCRIPTIONS_SDL}` }),
    admit: rateLimits.admit,
  });
});

afterAll(async () => {
  await h?.stop();
  redis?.disconnect();
});

afterEach(async () => {
  await eventually('every subscriber to leave the hub', async () =>
    Object.values(await h.subscriptions.hub.subscriberCounts()).every((n) => n === 0),
  );
});

/** The one GraphQL error a refused graphql-ws subscription got. */
const refusal = (received: Received) => (received.errors[0] as GraphQLError[])[0]!;

/** A raw SSE subscription request from `ip`: status, headers and body. */
async function ssePost(token: string, ip: string, query: string) {
  const res = await fetch(h.sseUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      'x-forwarded-for': ip,
    },
    body: JSON.stringify({ query }),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: JSON.parse(text) as { errors: { message: string; extensions: Record<string, unknown> }[] },
  };
}

const DEEP = `subscription { enrollmentCreated { course { instructor { taughtCourses { edges { node { title } } } } } } }`;
// Five deep, within the depth limit; modules and lessons are assumed 10 long each: cost 13.
const COSTLY = `subscription { enrollmentCreated { course { modules { lessons { title } } } } }`;
const HUGE = `subscription { enrollmentCreated { ${Array.from({ length: 300 }, () => 'position').join(' ')} } }`;
const PLAIN = `subscription { enrollmentCreated { position enrollmentId } }`;

describe('operation limits on subscriptions', () => {
  it('a subscription over the depth limit is refused on both transports with its figures, and opens nothing', async () => {
    const admin = await h.issuer.token('ADMIN');
    const ws = h.wsClient(admin.token, { ip: '198.51.100.10' }).client;
    const received = wsSubscribe(ws, DEEP);
    await received.done;
    expect(refusal(received).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_DEPTH',
      depth: 7,
      limit: 6,
    });
    expect(refusal(received).extensions).not.toHaveProperty('http');
    ws.dispose();

    const sse = await ssePost(admin.token, '198.51.100.11', DEEP);
    expect(sse.status).toBe(400);
    expect(sse.body.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'MAX_DEPTH', depth: 7, limit: 6 });
    expect(Object.values(await h.subscriptions.hub.subscriberCounts()).every((n) => n === 0)).toBe(true);
  });

  it("too many tokens, and a cost over the caller's budget, are refused with their reasons", async () => {
    const admin = await h.issuer.token('ADMIN');
    const tokens = await ssePost(admin.token, '198.51.100.12', HUGE);
    expect(tokens.status).toBe(400);
    expect(tokens.body.errors[0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_TOKENS',
      limit: 200,
    });
    expect(tokens.body.errors[0]!.extensions.tokens).toBeGreaterThan(200);

    const costly = await ssePost(admin.token, '198.51.100.13', COSTLY);
    expect(costly.status).toBe(400);
    expect(costly.body.errors[0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'COST_LIMIT',
      cost: 13,
      limit: 10,
    });
  });

  it('a subscription within the limits opens and receives events', async () => {
    const admin = await h.issuer.token('ADMIN');
    const ws = h.wsClient(admin.token, { ip: '198.51.100.14' }).client;
    const received = wsSubscribe(ws, PLAIN, {}, 1);
    await h.joined('enrollment.enrollment.created', 1);
    await h.enrolled();
    await received.done;
    expect(received.errors).toEqual([]);
    expect(received.results[0]!.data.enrollmentCreated.position).toMatch(/^ENROLLMENT:\d+$/);
    received.dispose();
    ws.dispose();
  });
});

describe('rate limits on subscriptions', () => {
  it("each subscription request draws from its IP's budget: past it, 429 with Retry-After on SSE and RATE_LIMITED over graphql-ws", async () => {
    const admin = await h.issuer.token('ADMIN');
    const ip = '198.51.100.20';
    const ws = h.wsClient(admin.token, { ip }).client;
    const streams: Received[] = [];
    for (let i = 0; i < IP_PER_MINUTE; i++) streams.push(wsSubscribe(ws, PLAIN));
    await h.joined('enrollment.enrollment.created', IP_PER_MINUTE);

    const refused = wsSubscribe(ws, PLAIN);
    await refused.done;
    expect(refusal(refused).extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ip' });
    expect(refusal(refused).extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(refusal(refused).extensions).not.toHaveProperty('http');

    const sse = await ssePost(admin.token, ip, PLAIN);
    expect(sse.status).toBe(429);
    expect(Number(sse.retryAfter)).toBeGreaterThan(0);
    expect(sse.body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ip' });

    // The streams admitted before go on.
    const seq = await h.enrolled();
    for (const stream of streams) {
      await eventually('the admitted streams to receive the event', async () => stream.results.length > 0);
      expect(stream.results[0]!.data.enrollmentCreated.position).toBe(`ENROLLMENT:${seq}`);
      stream.dispose();
    }
    ws.dispose();
  });
});
