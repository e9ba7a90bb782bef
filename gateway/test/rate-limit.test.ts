/**
 * The gateway's rate limits, against the real test Redis (each test with a key prefix of its own),
 * over a small schema named like the platform's limited root fields whose resolvers count their
 * calls, served on a real socket so the client address is the socket's peer. Redis down is a
 * private redis-server of the test's own, paused with SIGSTOP.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createSchema } from 'graphql-yoga';
import { createRedis, createServiceYoga, type Redis } from '@coursegraph/service-kit';
import { createClientIp, parseTrustedProxies } from '../src/client-ip.js';
import { createRateLimits, rootFieldCounts, type PolicyLimits } from '../src/rate-limit/index.js';
import { parse } from 'graphql';
import { freePort } from '@coursegraph/test-support';

const calls: Record<string, number> = {};
const count = (name: string) => () => ((calls[name] = (calls[name] ?? 0) + 1), name);
const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      hello: String!
      coupon(code: String!): String
    }
    type Mutation {
      logIn: String!
      signUp: String!
      refreshSession: String!
      enrol: String!
      unenrol: String!
      checkout: String!
    }
  `,
  resolvers: {
    Query: { hello: count('hello'), coupon: count('coupon') },
    Mutation: {
      logIn: count('logIn'),
      signUp: count('signUp'),
      refreshSession: count('refreshSession'),
      enrol: count('enrol'),
      unenrol: count('unenrol'),
      checkout: count('checkout'),
    },
  },
});

const GENEROUS: PolicyLimits = {
  ipPerMinute: 1000,
  userPerMinute: 1000,
  authPerMinute: 1000,
  enrolPerMinute: 1000,
  checkoutPerMinute: 1000,
};

interface Running {
  url: string;
  yoga: ReturnType<typeof createServiceYoga>;
  warnings: string[];
  close: () => Promise<void>;
}

const servers: Running[] = [];
let redis: Redis;
beforeAll(() => {
  redis = createRedis(process.env.REDIS_URL!);
});
afterAll(() => redis.disconnect());
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const key of Object.keys(calls)) delete calls[key];
});

/** A gateway-like yoga with the client-IP and rate-limit plugins, on a socket of its own. */
async function start(
  limits: Partial<PolicyLimits>,
  options: { trustedProxies?: string; redis?: Redis } = {},
): Promise<Running> {
  const warnings: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void warnings.push(line) });
  const clientIp = createClientIp({
    trustedProxies: parseTrustedProxies(options.trustedProxies ?? ''),
    signingSecret: 'rate-limit-test-secret-0123456789abcdef',
  });
  const yoga = createServiceYoga({
    schema,
    logger,
    context: async () => ({}),
    plugins: [
      clientIp.plugin,
      createRateLimits({
        redis: options.redis ?? redis,
        limits: { ...GENEROUS, ...limits },
        clientIp,
        // The tests' stand-in for a verified access token.
        userOf: async (request) => request.headers.get('x-test-user'),
        logger,
        keyPrefix: `test:rate-limit:${randomUUID()}:`,
      }),
    ],
  });
  const server: Server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const running: Running = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    yoga,
    warnings,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  servers.push(running);
  return running;
}

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, any> }[] };
}

async function post(target: Running, query: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${target.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const refusal = (answer: Answer) => answer.body.errors?.[0]?.extensions;

describe('rate limits', () => {
  it('answers with RateLimit and RateLimit-Policy headers (draft-ietf-httpapi-ratelimit-headers-10)', async () => {
    const gw = await start({ ipPerMinute: 5 });
    const first = await post(gw, '{ hello }');
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"ip";q=5;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"ip";r=4;t=\d+$/);
    const second = await post(gw, '{ hello }', { 'x-test-user': 'u1' });
    expect(second.headers.get('ratelimit-policy')).toBe('"ip";q=5;w=60, "user";q=1000;w=60');
    expect(second.headers.get('ratelimit')).toMatch(/^"ip";r=3;t=\d+, "user";r=999;t=\d+$/);
  });

  it('refuses past the per-IP limit with 429, Retry-After and RATE_LIMITED, before anything runs', async () => {
    const gw = await start({ ipPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await post(gw, '{ hello }')).status).toBe(200);
    const refused = await post(gw, '{ hello }');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refusal(refused)).toMatchObject({
      code: 'RATE_LIMITED',
      reason: 'ip',
      retryAfterSeconds: Number(refused.headers.get('retry-after')),
    });
    expect(refused.body.data).toBeUndefined();
    expect(refused.headers.get('ratelimit')).toMatch(/^"ip";r=0;t=\d+$/);
    expect(calls.hello).toBe(3);
    // A signed-in user on that address is refused too: the address is over its limit.
    expect((await post(gw, '{ hello }', { 'x-test-user': 'u1' })).status).toBe(429);
  });

  it('counts a signed-in user apart from others on the same address', async () => {
    const gw = await start({ userPerMinute: 2 });
    for (let i = 0; i < 2; i++) expect((await post(gw, '{ hello }', { 'x-test-user': 'alice' })).status).toBe(200);
    const refused = await post(gw, '{ hello }', { 'x-test-user': 'alice' });
    expect(refused.status).toBe(429);
    expect(refusal(refused)).toMatchObject({ code: 'RATE_LIMITED', reason: 'user' });
    expect((await post(gw, '{ hello }', { 'x-test-user': 'bob' })).status).toBe(200);
    expect((await post(gw, '{ hello }')).status).toBe(200);
    expect(calls.hello).toBe(4);
  });

  it('counts every aliased occurrence of a limited root field, fragments included', async () => {
    const gw = await start({ authPerMinute: 5 });
    const three = await post(gw, 'mutation { a: logIn b: logIn ...F } fragment F on Mutation { c: signUp }');
    expect(three.status).toBe(200);
    expect(three.headers.get('ratelimit')).toContain('"auth";r=2;');
    expect(calls.logIn).toBe(2);
    // Three more do not fit in the two left: nothing runs.
    const refused = await post(gw, 'mutation { a: logIn b: logIn c: refreshSession }');
    expect(refused.status).toBe(429);
    expect(refusal(refused)).toMatchObject({ code: 'RATE_LIMITED', reason: 'auth' });
    expect(calls.logIn).toBe(2);
    expect(calls.refreshSession).toBeUndefined();
    // Fifty in one request exceed a whole window: refused outright, whatever is left.
    const fifty = Array.from({ length: 50 }, (_, i) => `a${i}: logIn`).join(' ');
    const flood = await post(await start({ authPerMinute: 5 }), `mutation { ${fifty} }`);
    expect(flood.status).toBe(429);
    expect(refusal(flood)).toMatchObject({ code: 'RATE_LIMITED', reason: 'auth', retryAfterSeconds: 60 });
    expect(flood.body.errors![0]!.message).toMatch(
      /asks for 50 operations limited by "auth", which allows 5 per 60 seconds/,
    );
    expect(calls.logIn).toBe(2);
  });

  it('limits enrolment per user and checkout with coupon look-ups per user', async () => {
    const gw = await start({ enrolPerMinute: 2, checkoutPerMinute: 2 });
    expect((await post(gw, 'mutation { enrol unenrol }', { 'x-test-user': 'carol' })).status).toBe(200);
    expect(refusal(await post(gw, 'mutation { enrol }', { 'x-test-user': 'carol' }))).toMatchObject({
      reason: 'enrol',
    });
    expect((await post(gw, 'mutation { enrol }', { 'x-test-user': 'dave' })).status).toBe(200);
    expect((await post(gw, '{ a: coupon(code: "A") b: coupon(code: "B") }', { 'x-test-user': 'carol' })).status).toBe(
      200,
    );
    expect(refusal(await post(gw, 'mutation { checkout }', { 'x-test-user': 'carol' }))).toMatchObject({
      reason: 'checkout',
    });
    expect(calls).toMatchObject({ enrol: 2, unenrol: 1, coupon: 2 });
    expect(calls.checkout).toBeUndefined();
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    // The test client is 127.0.0.1, here a trusted proxy: the address before it is the client.
    const proxied = await start({ ipPerMinute: 2 }, { trustedProxies: '127.0.0.1' });
    const from = (chain: string) => post(proxied, '{ hello }', { 'x-forwarded-for': chain });
    expect((await from('6.6.6.6, 198.51.100.9')).status).toBe(200);
    expect((await from('7.7.7.7, 198.51.100.9')).status).toBe(200);
    expect(refusal(await from('8.8.8.8, 198.51.100.9'))).toMatchObject({ reason: 'ip' });
    expect((await from('198.51.100.10')).status).toBe(200);

    // Not trusted: the header is ignored, every request is 127.0.0.1's.
    const direct = await start({ ipPerMinute: 2 });
    expect((await post(direct, '{ hello }', { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200);
    expect((await post(direct, '{ hello }', { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
    expect((await post(direct, '{ hello }', { 'x-forwarded-for': '198.51.100.3' })).status).toBe(429);
  });

  it("does not limit the gateway's own in-process calls (no socket)", async () => {
    const gw = await start({ ipPerMinute: 1, authPerMinute: 1 });
    for (let i = 0; i < 5; i++) {
      const res = await gw.yoga.fetch('http://gateway/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.1' },
        body: JSON.stringify({ query: 'mutation { logIn }' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
    }
    expect(calls.logIn).toBe(5);
    // A client over the socket is limited as usual.
    expect((await post(gw, 'mutation { logIn }')).status).toBe(200);
    expect((await post(gw, '{ hello }')).status).toBe(429);
  });

  it("counts the explorer's sign-in as a logIn of the client", async () => {
    const gw = await start({ authPerMinute: 2 });
    const signIn = () =>
      fetch(`${gw.url}/explorer/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    for (let i = 0; i < 2; i++) expect((await signIn()).status).not.toBe(429);
    const refused = await signIn();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    // And the GraphQL logIn shares that budget.
    expect(refusal(await post(gw, 'mutation { logIn }'))).toMatchObject({ reason: 'auth' });
  });
});

describe('rate limits with Redis down', () => {
  let server: ChildProcess | null = null;
  afterEach(() => {
    if (server && server.exitCode === null) {
      server.kill('SIGCONT');
      server.kill('SIGKILL');
    }
    server = null;
  });

  it('fail open while Redis is paused, with one warning, and apply again when it is back', async () => {
    const port = await freePort();
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const privateRedis = createRedis(`redis://127.0.0.1:${port}`);
    try {
      for (let i = 0; i < 100 && (await privateRedis.ping().catch(() => null)) !== 'PONG'; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      const gw = await start({ ipPerMinute: 2 }, { redis: privateRedis });
      expect((await post(gw, '{ hello }')).status).toBe(200);

      server.kill('SIGSTOP');
      for (let i = 0; i < 4; i++) {
        const res = await post(gw, '{ hello }');
        expect(res.status).toBe(200);
        expect(res.headers.get('ratelimit')).toBeNull();
      }
      expect(calls.hello).toBe(5);
      expect(gw.warnings.filter((line) => line.includes('rate limits unavailable'))).toHaveLength(1);

      server.kill('SIGCONT');
      // Commands queued during the pause run now; the limit applies again (its one unit left, then 429).
      let res = await post(gw, '{ hello }');
      for (let i = 0; i < 20 && res.status === 200; i++) res = await post(gw, '{ hello }');
      expect(res.status).toBe(429);
      expect(gw.warnings.some((line) => line.includes('rate limits available again'))).toBe(true);
    } finally {
      privateRedis.disconnect();
    }
  });

  it('fail open when nothing listens on the Redis port', async () => {
    const deadRedis = createRedis(`redis://127.0.0.1:${await freePort()}`);
    deadRedis.on('error', () => {});
    try {
      const gw = await start({ ipPerMinute: 1 }, { redis: deadRedis });
      for (let i = 0; i < 3; i++) expect((await post(gw, 'mutation { logIn }')).status).toBe(200);
      expect(calls.logIn).toBe(3);
    } finally {
      deadRedis.disconnect();
    }
  });
});

describe('rootFieldCounts', () => {
  it('counts the chosen operation only, by field name whatever the alias', () => {
    const doc = parse(
      'query Q { a: coupon(code: "x") b: coupon(code: "y") hello } mutation M { logIn ... on Mutation { again: logIn } }',
    );
    expect(Object.fromEntries(rootFieldCounts(doc, 'Q'))).toEqual({ 'query.coupon': 2, 'query.hello': 1 });
    expect(Object.fromEntries(rootFieldCounts(doc, 'M'))).toEqual({ 'mutation.logIn': 2 });
    expect(rootFieldCounts(doc).size).toBe(0);
  });

  it('counts what GraphQL runs: one per response key, so a repeated selection merges', () => {
    const doc = parse(
      'mutation { logIn a: logIn ...F ...F } fragment F on Mutation { a: logIn b: logIn ...G } fragment G on Mutation { signUp ...F }',
    );
    expect(Object.fromEntries(rootFieldCounts(doc))).toEqual({ 'mutation.logIn': 3, 'mutation.signUp': 1 });
  });
});
