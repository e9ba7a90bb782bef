/**
 * Redis away on the request path, against a real redis-server of this test's own that is paused
 * (SIGSTOP: connected, silent) and resumed. Commands fail within the command timeout instead of
 * hanging; the token revocation check fails open (a signed, unexpired token is accepted, with a
 * warning), while revocations the verifier saw before the outage still hold; after Redis resumes,
 * revocation is checked in Redis again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLError } from 'graphql';
import { createAuthVerifier, revokeUserAccessBefore, type AuthVerifier } from '../src/auth.js';
import { createRedis, type Redis } from '../src/redis.js';
import { privateRedis, type PrivateRedis, testIssuer, type TestIssuer } from '@coursegraph/test-support';

let server: PrivateRedis;
let redis: Redis;
let issuer: TestIssuer;
let verifier: AuthVerifier;
const warnings: { obj: unknown; msg: string }[] = [];

beforeAll(async () => {
  server = await privateRedis();
  redis = createRedis(server.url, { commandTimeoutMs: 200 });
  await redis.ping();
  issuer = await testIssuer();
  const logger = { warn: (obj: unknown, msg: string) => void warnings.push({ obj, msg }) };
  verifier = createAuthVerifier({
    getKey: issuer.getKey,
    issuer: 'coursegraph-identity',
    audience: 'coursegraph',
    redis,
    logger: logger as never,
  });
});

afterEach(() => server.resume());

afterAll(async () => {
  redis?.disconnect();
  await server?.dispose();
});

const codeOf = (err: unknown) => (err as GraphQLError).extensions?.code;

/** Bounds a call that must not hang; the bound is far above the command timeout, and asserts nothing about time. */
const bounded = <T>(call: Promise<T>) =>
  Promise.race([
    call,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung while Redis was paused')), 10_000)),
  ]);

describe('Redis paused', () => {
  it('a command fails with a timeout instead of hanging, and works again once Redis resumes', async () => {
    server.pause();
    await expect(bounded(redis.get('anything'))).rejects.toThrow(/timed out/i);
    server.resume();
    await redis.set('redis-outage:probe', 'back');
    expect(await redis.get('redis-outage:probe')).toBe('back');
  });

  it('the revocation check fails open for a valid token, with a warning', async () => {
    const { token, userId } = await issuer.token('LEARNER');
    server.pause();
    const viewer = await bounded(verifier.verify(token));
    expect(viewer.userId).toBe(userId);
    expect(warnings.at(-1)?.msg).toMatch(/revocation check skipped: Redis did not answer/);
    // Failing open never makes a bad token good.
    await expect(bounded(verifier.verify(`${token.slice(0, -4)}AAAA`))).rejects.toSatisfy(
      (err) => codeOf(err) === 'UNAUTHENTICATED',
    );
  });

  it('a revocation seen before the outage still holds during it; after it, Redis decides again', async () => {
    const { token, userId } = await issuer.token('LEARNER');
    await revokeUserAccessBefore(redis, userId, 600, Date.now() + 1_000);
    await expect(verifier.verify(token)).rejects.toSatisfy((err) => codeOf(err) === 'UNAUTHENTICATED');
    server.pause();
    await expect(bounded(verifier.verify(token))).rejects.toThrow(/revoked/);
    server.resume();
    await expect(verifier.verify(token)).rejects.toThrow(/revoked/);
    // And a revocation made after the outage is enforced at once, as before it.
    const other = await issuer.token('LEARNER');
    await revokeUserAccessBefore(redis, other.userId, 600, Date.now() + 1_000);
    await expect(verifier.verify(other.token)).rejects.toThrow(/revoked/);
  });

  it('commands queued while Redis was paused do not shift the answers of later ones', async () => {
    await redis.set('redis-outage:a', 'A');
    await redis.set('redis-outage:b', 'B');
    server.pause();
    await expect(bounded(redis.get('redis-outage:a'))).rejects.toThrow(/timed out/i);
    server.resume();
    // The late reply to the timed-out GET must not be taken for this one.
    expect(await redis.get('redis-outage:b')).toBe('B');
  });
});
