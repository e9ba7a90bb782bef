import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import type { GraphQLError } from 'graphql';
import { createRedis, type Redis } from '../src/redis.js';
import {
  bearerToken,
  createAuthVerifier,
  requireRole,
  requireViewer,
  revokeSessionAccess,
  revokeUserAccessBefore,
  type AuthVerifier,
  type Role,
} from '../src/auth.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/1';
const ISSUER = 'coursegraph-identity';
const AUDIENCE = 'coursegraph';
const KID = 'access-key-1';

let redis: Redis;
let verifier: AuthVerifier;
let privateKey: CryptoKey;
let otherPrivateKey: CryptoKey;

beforeAll(async () => {
  redis = createRedis(REDIS_URL);
  const pair = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  otherPrivateKey = other.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  verifier = createAuthVerifier({ getKey: createLocalJWKSet({ keys: [jwk] }), issuer: ISSUER, audience: AUDIENCE, redis });
});

afterAll(async () => {
  await redis.quit();
});

interface TokenOptions {
  sub?: string;
  sid?: string;
  role?: unknown;
  iatMs?: number;
  claims?: JWTPayload;
  omit?: string[];
  issuer?: string;
  audience?: string;
  /** Seconds since the epoch. */
  exp?: number;
  key?: CryptoKey;
  kid?: string;
}

function ids() {
  return { sub: randomUUID(), sid: randomUUID() };
}

async function sign(options: TokenOptions = {}): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    role: 'role' in options ? options.role : 'LEARNER',
    sid: options.sid ?? randomUUID(),
    iat_ms: options.iatMs ?? Date.now(),
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? KID, typ: 'JWT' })
    .setSubject(options.sub ?? randomUUID())
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? nowSeconds + 900);
  return jwt.sign(options.key ?? privateKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function validPayload() {
  const now = Math.floor(Date.now() / 1000);
  return { sub: randomUUID(), sid: randomUUID(), role: 'ADMIN', iat_ms: Date.now(), iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 900 };
}

async function rejection(promise: Promise<unknown>): Promise<GraphQLError> {
  try {
    await promise;
  } catch (err) {
    return err as GraphQLError;
  }
  throw new Error('expected the token to be rejected');
}

async function expectInvalid(token: string) {
  const err = await rejection(verifier.verify(token));
  expect(err.extensions?.code).toBe('UNAUTHENTICATED');
  expect(err.message).toBe('The access token is invalid.');
}

describe('createAuthVerifier.verify', () => {
  it('turns a valid token into a Viewer', async () => {
    const { sub, sid } = ids();
    const iatMs = Date.now();
    const viewer = await verifier.verify(await sign({ sub, sid, role: 'INSTRUCTOR', iatMs }));
    expect(viewer).toEqual({ userId: sub, role: 'INSTRUCTOR', sessionId: sid, issuedAtMs: iatMs });
  });

  it('accepts each known role', async () => {
    for (const role of ['LEARNER', 'INSTRUCTOR', 'ADMIN'] satisfies Role[]) {
      expect((await verifier.verify(await sign({ role }))).role).toBe(role);
    }
  });

  it('rejects an expired token, saying it expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const err = await rejection(verifier.verify(await sign({ exp: now - 120 })));
    expect(err.extensions?.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/expired/);
  });

  it('rejects a token signed by another key under the same kid', async () => {
    await expectInvalid(await sign({ key: otherPrivateKey }));
  });

  it('rejects a token whose kid is unknown', async () => {
    await expectInvalid(await sign({ kid: 'someone-elses-key' }));
  });

  it('rejects the wrong audience or issuer', async () => {
    await expectInvalid(await sign({ audience: 'some-other-app' }));
    await expectInvalid(await sign({ issuer: 'https://evil.example' }));
  });

  it('rejects an unsigned alg "none" token', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(validPayload())}.`;
    await expectInvalid(token);
    await expectInvalid(`${b64url({ alg: 'none', typ: 'JWT', kid: KID })}.${b64url(validPayload())}.`);
  });

  it('rejects an HS256 token forged with a guessed secret', async () => {
    for (const secret of ['secret', 'coursegraph', KID]) {
      const token = await new SignJWT({ role: 'ADMIN', sid: randomUUID(), iat_ms: Date.now() })
        .setProtectedHeader({ alg: 'HS256', kid: KID })
        .setSubject(randomUUID())
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(new TextEncoder().encode(secret));
      await expectInvalid(token);
    }
  });

  it('rejects a tampered payload', async () => {
    const [header, , signature] = (await sign({ role: 'LEARNER' })).split('.');
    await expectInvalid(`${header}.${b64url(validPayload())}.${signature}`);
  });

  it('rejects garbage', async () => {
    await expectInvalid('not-a-jwt');
    await expectInvalid('');
    await expectInvalid('a.b.c');
  });

  it('rejects a missing or unknown role', async () => {
    await expectInvalid(await sign({ omit: ['role'] }));
    await expectInvalid(await sign({ role: 'SUPERUSER' }));
    await expectInvalid(await sign({ role: 'admin' }));
    await expectInvalid(await sign({ role: ['ADMIN'] }));
  });

  it('rejects a token missing sid or iat_ms, or with iat_ms of the wrong type', async () => {
    await expectInvalid(await sign({ omit: ['sid'] }));
    await expectInvalid(await sign({ omit: ['iat_ms'] }));
    await expectInvalid(await sign({ claims: { iat_ms: String(Date.now()) } }));
  });
});

describe('revocation', () => {
  it('revokeSessionAccess revokes that session only', async () => {
    const sub = randomUUID();
    const revokedSid = randomUUID();
    const otherSid = randomUUID();
    const revokedToken = await sign({ sub, sid: revokedSid });
    const otherToken = await sign({ sub, sid: otherSid });
    expect((await verifier.verify(revokedToken)).sessionId).toBe(revokedSid);

    await revokeSessionAccess(redis, revokedSid, 900);

    const err = await rejection(verifier.verify(revokedToken));
    expect(err.extensions?.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/revoked/);
    expect((await verifier.verify(otherToken)).sessionId).toBe(otherSid);
    // The mark lives only as long as an access token could.
    const ttl = await redis.ttl(`auth:revoked-session:${revokedSid}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(900);
  });

  it('revokeUserAccessBefore revokes tokens issued up to the mark and keeps later ones', async () => {
    const sub = randomUUID();
    const markMs = Date.now();
    const before = await sign({ sub, iatMs: markMs - 60_000 });
    const atMark = await sign({ sub, iatMs: markMs });
    const after = await sign({ sub, iatMs: markMs + 1 });
    const otherUser = await sign({ iatMs: markMs - 60_000 });

    await revokeUserAccessBefore(redis, sub, 900, markMs);

    for (const token of [before, atMark]) {
      const err = await rejection(verifier.verify(token));
      expect(err.extensions?.code).toBe('UNAUTHENTICATED');
      expect(err.message).toMatch(/revoked/);
    }
    expect((await verifier.verify(after)).issuedAtMs).toBe(markMs + 1);
    expect((await verifier.verify(otherUser)).userId).not.toBe(sub);
  });
});

describe('viewerFromRequest and bearerToken', () => {
  const req = (authorization?: string) =>
    new Request('http://test/graphql', { headers: authorization === undefined ? {} : { authorization } });

  it('bearerToken reads the token, or null when no header is sent', () => {
    expect(bearerToken(req())).toBeNull();
    expect(bearerToken(req('Bearer abc.def.ghi'))).toBe('abc.def.ghi');
    expect(bearerToken(req('bearer   abc.def.ghi  '))).toBe('abc.def.ghi');
  });

  it('bearerToken rejects other schemes and malformed headers with UNAUTHENTICATED', () => {
    for (const header of ['Basic x', 'Bearer', 'Bearer a b', 'Token abc', 'abc.def.ghi']) {
      let caught: GraphQLError | undefined;
      try {
        bearerToken(req(header));
      } catch (err) {
        caught = err as GraphQLError;
      }
      expect(caught?.extensions?.code, header).toBe('UNAUTHENTICATED');
    }
  });

  it('viewerFromRequest is null when anonymous and a Viewer for a good token', async () => {
    expect(await verifier.viewerFromRequest(req())).toBeNull();
    const { sub, sid } = ids();
    const viewer = await verifier.viewerFromRequest(req(`Bearer ${await sign({ sub, sid })}`));
    expect(viewer).toMatchObject({ userId: sub, sessionId: sid, role: 'LEARNER' });
  });

  it('viewerFromRequest rejects a bad token instead of treating the caller as anonymous', async () => {
    const err = await rejection(verifier.viewerFromRequest(req(`Bearer ${await sign({ key: otherPrivateKey })}`)));
    expect(err.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('requireViewer and requireRole', () => {
  const viewer = { userId: randomUUID(), role: 'LEARNER' as Role, sessionId: randomUUID(), issuedAtMs: 1 };

  function codeOf(fn: () => unknown): unknown {
    try {
      fn();
    } catch (err) {
      return (err as GraphQLError).extensions?.code;
    }
    return 'no error';
  }

  it('requireViewer returns the viewer or throws UNAUTHENTICATED', () => {
    expect(requireViewer({ viewer })).toBe(viewer);
    expect(codeOf(() => requireViewer({ viewer: null }))).toBe('UNAUTHENTICATED');
  });

  it('requireRole throws FORBIDDEN for the wrong role and UNAUTHENTICATED when anonymous', () => {
    expect(requireRole({ viewer }, 'LEARNER', 'ADMIN')).toBe(viewer);
    expect(codeOf(() => requireRole({ viewer }, 'ADMIN'))).toBe('FORBIDDEN');
    expect(codeOf(() => requireRole({ viewer: null }, 'ADMIN'))).toBe('UNAUTHENTICATED');
    expect(() => requireRole({ viewer }, 'INSTRUCTOR', 'ADMIN')).toThrow('This needs the INSTRUCTOR or ADMIN role.');
  });
});
