import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SignJWT,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { GraphQLError } from 'graphql';
import { createRedis, type Redis } from '../src/redis.js';
import {
  bearerToken,
  createAuthVerifier,
  requireRole,
  requireViewer,
  revokeSessionAccess,
  revokeUserAccessBefore,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
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
let localKeys: JWTVerifyGetKey;

beforeAll(async () => {
  redis = createRedis(REDIS_URL);
  const pair = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  otherPrivateKey = other.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  localKeys = createLocalJWKSet({ keys: [jwk] });
  verifier = createAuthVerifier({ getKey: localKeys, issuer: ISSUER, audience: AUDIENCE, redis });
});

/** A verifier whose getKey counts its calls: one call per signature check actually run. */
function countingVerifier(cacheSize?: number, recheckAfterMs?: number) {
  const counter = { getKeyCalls: 0, keyWithdrawn: false };
  const getKey: JWTVerifyGetKey = (header, token) => {
    counter.getKeyCalls += 1;
    if (counter.keyWithdrawn) throw new Error('no such key');
    return localKeys(header, token);
  };
  const options = {
    getKey,
    issuer: ISSUER,
    audience: AUDIENCE,
    redis,
    ...(recheckAfterMs === undefined ? {} : { recheckAfterMs }),
  };
  return { verifier: createAuthVerifier(cacheSize === undefined ? options : { ...options, cacheSize }), counter };
}

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
  /** Seconds since the epoch (default: now). */
  iat?: number;
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
    .setIssuedAt(options.iat ?? nowSeconds)
    .setExpirationTime(options.exp ?? nowSeconds + 900);
  return jwt.sign(options.key ?? privateKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function validPayload() {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: randomUUID(),
    sid: randomUUID(),
    role: 'ADMIN',
    iat_ms: Date.now(),
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 900,
  };
}

async function rejection(promise: Promise<unknown>): Promise<GraphQLError> {
  try {
    await promise;
  } catch (err) {
    return err as GraphQLError;
  }
  throw new Error('expected the token to be rejected');
}

async function expectRejected(promise: Promise<unknown>, message: string) {
  const err = await rejection(promise);
  expect(err.extensions?.code).toBe('UNAUTHENTICATED');
  expect(err.message).toBe(message);
}

const INVALID = 'The access token is invalid.';
const EXPIRED = 'The access token has expired; refresh it.';
const REVOKED = 'The access token has been revoked; sign in again.';

async function expectInvalid(token: string) {
  await expectRejected(verifier.verify(token), INVALID);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the wall clock (Date.now(), which jose and the verifier read) reaches `ms`. */
async function waitUntilClock(ms: number) {
  while (Date.now() < ms) await sleep(ms - Date.now() + 5);
}

// The same behaviour is expected with the verified-token cache on (the default) and off.
const CACHE_SETTINGS = [
  { setting: 'cache on (default)', cacheSize: undefined },
  { setting: 'cacheSize 0', cacheSize: 0 },
];

describe.each(CACHE_SETTINGS)('createAuthVerifier.verify, $setting', ({ cacheSize }) => {
  beforeAll(() => {
    verifier = countingVerifier(cacheSize).verifier;
  });

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

describe.each(CACHE_SETTINGS)('revocation, $setting', ({ cacheSize }) => {
  beforeAll(() => {
    verifier = countingVerifier(cacheSize).verifier;
  });

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

describe('verified-token cache', () => {
  it('checks the signature of a repeated token once, and again on every call with cacheSize 0', async () => {
    const { sub, sid } = ids();
    const token = await sign({ sub, sid, role: 'INSTRUCTOR' });
    const cached = countingVerifier();
    const uncached = countingVerifier(0);
    for (let i = 0; i < 3; i++) {
      for (const { verifier } of [cached, uncached]) {
        expect(await verifier.verify(token)).toEqual({
          userId: sub,
          role: 'INSTRUCTOR',
          sessionId: sid,
          issuedAtMs: expect.any(Number),
        });
      }
    }
    expect(cached.counter.getKeyCalls).toBe(1);
    expect(uncached.counter.getKeyCalls).toBe(3);
  });

  it('hands out a fresh Viewer each time: a caller changing one does not change the cache', async () => {
    const { verifier } = countingVerifier();
    const token = await sign({ role: 'LEARNER' });
    const first = await verifier.verify(token);
    first.role = 'ADMIN';
    expect((await verifier.verify(token)).role).toBe('LEARNER');
  });

  it.each([{ cacheSize: undefined }, { cacheSize: 0 }])(
    'refuses a token verified before right after its session is revoked (cacheSize $cacheSize)',
    async ({ cacheSize }) => {
      const { verifier, counter } = countingVerifier(cacheSize);
      const { sub, sid } = ids();
      const token = await sign({ sub, sid });
      const sameUserOtherSession = await sign({ sub });
      await verifier.verify(token);
      await verifier.verify(token);
      await verifier.verify(sameUserOtherSession);
      const checksBefore = counter.getKeyCalls;

      await revokeSessionAccess(redis, sid, 900);

      await expectRejected(verifier.verify(token), REVOKED);
      await expectRejected(verifier.verify(token), REVOKED);
      expect((await verifier.verify(sameUserOtherSession)).userId).toBe(sub);
      // With the cache on, the refusal came from the cached path (no new signature check).
      if (cacheSize === undefined) expect(counter.getKeyCalls).toBe(checksBefore);
    },
  );

  it.each([{ cacheSize: undefined }, { cacheSize: 0 }])(
    'refuses a token verified before right after revokeUserAccessBefore (cacheSize $cacheSize)',
    async ({ cacheSize }) => {
      const { verifier, counter } = countingVerifier(cacheSize);
      const { sub } = ids();
      const markMs = Date.now();
      const token = await sign({ sub, iatMs: markMs - 1_000 });
      const issuedAfter = await sign({ sub, iatMs: markMs + 1 });
      await verifier.verify(token);
      await verifier.verify(token);
      await verifier.verify(issuedAfter);
      const checksBefore = counter.getKeyCalls;

      await revokeUserAccessBefore(redis, sub, 900, markMs);

      await expectRejected(verifier.verify(token), REVOKED);
      expect((await verifier.verify(issuedAfter)).issuedAtMs).toBe(markMs + 1);
      if (cacheSize === undefined) expect(counter.getKeyCalls).toBe(checksBefore);
    },
  );

  it('refuses a cached token once its exp passes, with the expiry message, and forgets it', async () => {
    const { verifier, counter } = countingVerifier();
    const exp = Math.floor(Date.now() / 1000) + 3;
    const token = await sign({ exp });
    await verifier.verify(token);
    expect(counter.getKeyCalls).toBe(1);

    await waitUntilClock(exp * 1000);

    await expectRejected(verifier.verify(token), EXPIRED);
    expect(counter.getKeyCalls).toBe(1); // refused by the cache itself
    await expectRejected(verifier.verify(token), EXPIRED);
    expect(counter.getKeyCalls).toBe(2); // the entry was dropped: jose refused it this time
  });

  it('refuses a cached token once it is older than any access token may be, although exp is later', async () => {
    const { verifier, counter } = countingVerifier();
    const nowSeconds = Math.floor(Date.now() / 1000);
    const iat = nowSeconds - MAX_ACCESS_TOKEN_TTL_SECONDS + 2;
    const token = await sign({ iat, exp: nowSeconds + 900 });
    await verifier.verify(token);

    // jose counts whole seconds: it refuses once the age is more than the maximum.
    await waitUntilClock((iat + MAX_ACCESS_TOKEN_TTL_SECONDS + 1) * 1000);

    await expectRejected(verifier.verify(token), EXPIRED);
    expect(counter.getKeyCalls).toBe(1);
    await expectRejected(verifier.verify(token), EXPIRED);
    expect(counter.getKeyCalls).toBe(2);
  });

  it('refuses a token whose payload equals a cached token but whose signature is not valid', async () => {
    const { verifier, counter } = countingVerifier();
    const token = await sign({ role: 'ADMIN' });
    await verifier.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];

    // The same header and payload signed by another key, and the real signature with one character changed.
    const signedByOther = Buffer.from(
      await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        otherPrivateKey,
        new TextEncoder().encode(`${header}.${payload}`),
      ),
    ).toString('base64url');
    const changed = signature[10] === 'A' ? 'B' : 'A';
    const tampered = [
      `${header}.${payload}.${signedByOther}`,
      `${header}.${payload}.${signature.slice(0, 10)}${changed}${signature.slice(11)}`,
      `${header}.${payload}.`,
    ];
    for (const forged of tampered) {
      await expectRejected(verifier.verify(forged), INVALID);
      await expectRejected(verifier.verify(forged), INVALID); // a failure is never cached as a success
    }
    expect(counter.getKeyCalls).toBe(1 + tampered.length * 2); // every forged call was checked, none served from the cache
    expect((await verifier.verify(token)).role).toBe('ADMIN');
  });

  it('keeps at most cacheSize tokens, dropping the oldest first', async () => {
    const { verifier, counter } = countingVerifier(2);
    const [a, b, c] = await Promise.all([sign(), sign(), sign()]);
    for (const token of [a, b, c]) await verifier.verify(token!);
    expect(counter.getKeyCalls).toBe(3);
    await verifier.verify(c!);
    await verifier.verify(b!);
    expect(counter.getKeyCalls).toBe(3); // b and c are cached
    await verifier.verify(a!);
    expect(counter.getKeyCalls).toBe(4); // a had been dropped
  });

  it('checks a remembered token against the keys again after recheckAfterMs: a withdrawn key stops being trusted', async () => {
    const { verifier, counter } = countingVerifier(undefined, 2_000);
    const token = await sign({ role: 'LEARNER' });
    await verifier.verify(token);
    await verifier.verify(token);
    expect(counter.getKeyCalls).toBe(1);
    counter.keyWithdrawn = true;
    // Still within recheckAfterMs: served from the cache.
    await verifier.verify(token);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await expectRejected(verifier.verify(token), INVALID);
    expect(counter.getKeyCalls).toBe(2);
  });

  it('refuses a cacheSize that is not a whole number >= 0', () => {
    for (const cacheSize of [-1, 1.5, Number.NaN]) {
      expect(() =>
        createAuthVerifier({ getKey: localKeys, issuer: ISSUER, audience: AUDIENCE, redis, cacheSize }),
      ).toThrow(/cacheSize/);
    }
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
