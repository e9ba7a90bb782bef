/**
 * The gateway (createGatewayApp over the committed supergraph, in-process) holds operations to the
 * limits with the supergraph's costs before any subgraph is called. Every subgraph URL points at
 * a local HTTP server that counts the calls reaching it (and serves the JWKS the test signs its
 * tokens with); Redis and NATS are the test's real ones.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createLogger, readConfig, type Role } from '@coursegraph/service-kit';
import { gatewaySettings } from '../src/config.js';
import { createGatewayApp } from '../src/app.js';

const SUBGRAPHS = ['identity', 'course', 'enrollment', 'payment', 'notification', 'search'];

let server: http.Server;
let subgraphCalls: string[] = [];
let app: Awaited<ReturnType<typeof createGatewayApp>>;
let sign: (role: Role) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  sign = (role) =>
    new SignJWT({ role, sid: randomUUID(), iat_ms: Date.now() })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject(randomUUID())
      .setIssuer('coursegraph-identity')
      .setAudience('coursegraph')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);

  server = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      subgraphCalls.push(Buffer.concat(chunks).toString('utf8'));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: { catalog: { totalCount: 7 } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // loadSupergraph reads the routing overrides from the process environment.
  for (const name of SUBGRAPHS) process.env[`SUBGRAPH_${name.toUpperCase()}_URL`] = `${base}/${name}/graphql`;
  const config = readConfig(gatewaySettings, {
    ...process.env,
    IDENTITY_JWKS_URL: `${base}/.well-known/jwks.json`,
    RATE_LIMITS: 'false',
    LOG_LEVEL: 'silent',
  });
  app = await createGatewayApp(config, createLogger('gateway-limits-test', 'silent'));
});

afterAll(async () => {
  await app?.close();
  for (const name of SUBGRAPHS) delete process.env[`SUBGRAPH_${name.toUpperCase()}_URL`];
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  subgraphCalls = [];
});

async function post(query: string, variables?: Record<string, unknown>, token?: string) {
  const res = await app.yoga.fetch('http://gateway/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, any> | null;
      errors?: { message: string; extensions: Record<string, any> }[];
    },
  };
}

function nested(levels: number, first = 50): string {
  let inner = 'id title';
  for (let i = 0; i < levels; i++)
    inner = `id instructor { name taughtCourses(first: ${first}) { edges { node { ${inner} } } } }`;
  return `{ catalog(first: ${first}) { edges { node { ${inner} } } } }`;
}

const COSTLY = `query($n: Int) { catalog(first: $n) { edges { node { title enrollmentCount modules { lessons { id } }
  instructor { name taughtCourses(first: $n) { edges { node { title enrollmentCount modules { lessons { id } } } } } } } } } }`;

describe('the gateway refuses before calling any subgraph', () => {
  it('catalog → instructor → taughtCourses nested 40 times (2.7 KB)', async () => {
    const res = await post(nested(40));
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_RECURSION',
      repeats: 41,
      limit: 2,
    });
    expect(subgraphCalls).toEqual([]);
  });

  it('four levels (324 bytes)', async () => {
    const res = await post(nested(4));
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({ reason: 'MAX_RECURSION', repeats: 5, limit: 2 });
    expect(subgraphCalls).toEqual([]);
  });

  it('2,000 aliases of catalog(first: 50): too many tokens already; 31 aliases: too many aliases', async () => {
    const many = await post(
      `{ ${Array.from({ length: 2000 }, (_, i) => `a${i}: catalog(first: 50) { totalCount }`).join(' ')} }`,
    );
    expect(many.status).toBe(400);
    expect(many.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_TOKENS',
      tokens: 22002,
      limit: 2000,
    });
    const some = await post(
      `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: catalog(first: 50) { totalCount }`).join(' ')} }`,
    );
    expect(some.status).toBe(400);
    expect(some.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_ALIASES',
      aliases: 31,
      limit: 30,
    });
    expect(subgraphCalls).toEqual([]);
  });

  it('many root fields', async () => {
    const res = await post(`{ ${Array.from({ length: 21 }, () => 'categories { name }').join(' ')} }`);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'MAX_ROOT_FIELDS',
      rootFields: 21,
      limit: 20,
    });
    expect(subgraphCalls).toEqual([]);
  });

  it('cyclic fragments', async () => {
    const res = await post(
      '{ catalog { edges { node { ...A } } } } fragment A on Course { instructor { taughtCourses { edges { node { ...B } } } } } fragment B on Course { ...A }',
    );
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
    });
    expect(subgraphCalls).toEqual([]);
  });

  it('a cost through variables, judged by who calls: anonymous and learner refused, admin let through', async () => {
    // 1 + n × (edges 1 + node 1 + modules 11 + instructor (1 + taughtCourses (1 + n × (1 + 1 + 11)))), n = 40: 21,401
    const anonymous = await post(COSTLY, { n: 40 });
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'COST_LIMIT',
      cost: 21_401,
      limit: 5000,
    });
    expect(anonymous.body.errors![0]!.message).toBe(
      "The operation's cost is 21401; the limit for anonymous callers is 5000.",
    );
    const learner = await post(COSTLY, { n: 40 }, await sign('LEARNER'));
    expect(learner.body.errors![0]!.extensions).toMatchObject({ reason: 'COST_LIMIT', cost: 21_401, limit: 10_000 });
    expect(subgraphCalls).toEqual([]);

    await post(COSTLY, { n: 40 }, await sign('ADMIN'));
    expect(subgraphCalls.length).toBeGreaterThan(0);
    expect(subgraphCalls[0]).toContain('catalog');
  });
});

describe('the gateway lets legitimate operations through', () => {
  it('sends an operation under every limit to its subgraph', async () => {
    const res = await post('{ catalog(first: 2) { totalCount } }');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { catalog: { totalCount: 7 } } });
    expect(subgraphCalls).toHaveLength(1);
  });
});
