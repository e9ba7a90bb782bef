/**
 * The subgraph bootstrap: every request's context carries the shared fields (viewer from a verified
 * token, request id, a logger tagged with it, a validated traceparent) under the subgraph's own,
 * with keys from a key set, or from identity's JWKS over HTTP by default. Real Redis (revocation).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema } from 'graphql-yoga';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { commonSettings, readConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { newTraceparent } from '../src/events/traceparent.js';
import { createSubgraph, type Subgraph, type SubgraphContext } from '../src/subgraph.js';

interface TestContext extends SubgraphContext, Record<string, unknown> {
  greeting: string;
}

const schema = createSchema<TestContext>({
  typeDefs: /* GraphQL */ `
    type Query {
      base: Base!
      greeting: String!
    }
    type Base {
      userId: ID
      role: String
      requestId: String!
      traceparent: String
    }
  `,
  resolvers: {
    Query: {
      base: (_p, _a, ctx) => {
        ctx.logger.info('resolving base');
        return {
          userId: ctx.viewer?.userId ?? null,
          role: ctx.viewer?.role ?? null,
          requestId: ctx.requestId,
          traceparent: ctx.traceparent ?? null,
        };
      },
      greeting: (_p, _a, ctx) => ctx.greeting,
    },
  },
});
const SDL =
  'type Query { base: Base! greeting: String! } type Base { userId: ID role: String requestId: String! traceparent: String }';

const KID = 'bootstrap-test-key';
let privateKey: CryptoKey;
let jwk: JWK;
const config = readConfig(commonSettings, process.env);
const logLines: Record<string, unknown>[] = [];
const logger = pino(
  { base: { service: 'subgraph-test' } },
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)));
      done();
    },
  }),
);
const subgraphs: Subgraph[] = [];

async function token(userId = randomUUID(), role = 'INSTRUCTOR') {
  return new SignJWT({ role, sid: randomUUID(), iat_ms: Date.now() })
    .setProtectedHeader({ alg: 'ES256', kid: KID })
    .setSubject(userId)
    .setIssuer(config.authIssuer)
    .setAudience(config.authAudience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
}

function serve(subgraph: Subgraph) {
  subgraphs.push(subgraph);
  return subgraph.yoga<TestContext>({
    schema,
    sdl: SDL,
    context: (base) => ({ greeting: base.viewer ? `hello ${base.viewer.userId}` : 'hello stranger' }),
  });
}

async function ask(
  yoga: ReturnType<typeof serve>,
  headers: Record<string, string>,
  query = '{ base { userId role requestId traceparent } greeting }',
) {
  const res = await yoga.fetch('http://subgraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions: Record<string, unknown> }[] };
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
});

afterAll(() => {
  for (const subgraph of subgraphs) subgraph.redis.disconnect();
});

describe('createSubgraph', () => {
  it("gives every request the viewer, request id, tagged logger and traceparent, under the subgraph's own fields", async () => {
    const yoga = serve(createSubgraph({ config, logger, getKey: createLocalJWKSet({ keys: [jwk] }) }));
    const userId = randomUUID();
    const requestId = `req-${randomUUID()}`;
    const traceparent = newTraceparent();
    const body = await ask(yoga, {
      authorization: `Bearer ${await token(userId)}`,
      'x-request-id': requestId,
      traceparent,
    });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      base: { userId, role: 'INSTRUCTOR', requestId, traceparent },
      greeting: `hello ${userId}`,
    });
    expect(logLines.find((line) => line.msg === 'resolving base' && line.requestId === requestId)).toMatchObject({
      service: 'subgraph-test',
    });
  });

  it('an anonymous request without headers: no viewer, empty request id, no trace', async () => {
    const yoga = serve(createSubgraph({ config, logger, getKey: createLocalJWKSet({ keys: [jwk] }) }));
    const body = await ask(yoga, {});
    expect(body.data).toEqual({
      base: { userId: null, role: null, requestId: '', traceparent: null },
      greeting: 'hello stranger',
    });
  });

  it.each([
    ['not a trace', 'garbage'],
    ['upper case', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['unknown version', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['trailing data', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'],
  ])('ignores a malformed traceparent (%s): the request runs without one', async (_name, traceparent) => {
    const yoga = serve(createSubgraph({ config, logger, getKey: createLocalJWKSet({ keys: [jwk] }) }));
    const body = await ask(yoga, { traceparent, 'x-request-id': 'malformed-trace' });
    expect(body.errors).toBeUndefined();
    expect(body.data.base).toEqual({ userId: null, role: null, requestId: 'malformed-trace', traceparent: null });
  });

  it('a bad token is refused with UNAUTHENTICATED before any resolver runs', async () => {
    const yoga = serve(createSubgraph({ config, logger, getKey: createLocalJWKSet({ keys: [jwk] }) }));
    const other = await generateKeyPair('ES256');
    const forged = await new SignJWT({ role: 'ADMIN', sid: randomUUID(), iat_ms: Date.now() })
      .setProtectedHeader({ alg: 'ES256', kid: KID })
      .setSubject(randomUUID())
      .setIssuer(config.authIssuer)
      .setAudience(config.authAudience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(other.privateKey);
    const before = logLines.length;
    const body = await ask(yoga, { authorization: `Bearer ${forged}` });
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(logLines.slice(before).some((line) => line.msg === 'resolving base')).toBe(false);
  });

  it("keeps the kit's operation limits, from config and the SDL", async () => {
    const yoga = serve(
      createSubgraph({ config: { ...config, limitMaxAliases: 1 }, logger, getKey: createLocalJWKSet({ keys: [jwk] }) }),
    );
    const body = await ask(yoga, {}, '{ a: greeting b: greeting }');
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MAX_ALIASES' });
  });

  describe("by default, identity's JWKS at config.jwksUrl", () => {
    let server: Server;
    let jwksUrl: string;
    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('verifies tokens with the keys it serves', async () => {
      const yoga = serve(
        createSubgraph({ config: { ...config, jwksUrl }, logger: createLogger('subgraph-test', 'silent') }),
      );
      const userId = randomUUID();
      const body = await ask(yoga, { authorization: `Bearer ${await token(userId, 'LEARNER')}` });
      expect(body.data.base).toMatchObject({ userId, role: 'LEARNER' });
    });
  });

  it('refuses to start without a way to verify tokens', () => {
    expect(() => createSubgraph({ config, logger })).toThrow(/jwksUrl.*getKey/);
  });
});
