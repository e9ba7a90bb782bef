/**
 * Access tokens for testing a subgraph without a running identity: an ES256 key of the test's own,
 * offered to the app as its JWKS, and tokens signed exactly as identity signs them.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTVerifyGetKey } from 'jose';

export type TestRole = 'LEARNER' | 'INSTRUCTOR' | 'ADMIN';

export interface TestIssuer {
  /** Give this to the app under test as its key resolver. */
  getKey: JWTVerifyGetKey;
  /** A token for `userId` (a new id by default) with `role`, valid for 10 minutes unless `expiresInSeconds` says otherwise. */
  token(
    role?: TestRole,
    userId?: string,
    options?: { expiresInSeconds?: number },
  ): Promise<{ token: string; userId: string }>;
}

export async function testIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const getKey = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256' }] });
  return {
    getKey,
    async token(role = 'LEARNER', userId = randomUUID(), { expiresInSeconds = 600 } = {}) {
      const token = await new SignJWT({ role, sid: randomUUID(), iat_ms: Date.now() })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(userId)
        .setIssuer('coursegraph-identity')
        .setAudience('coursegraph')
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
        .sign(privateKey);
      return { token, userId };
    },
  };
}
