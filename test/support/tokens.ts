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
  /** A token for `userId` (a new id by default) with `role`. */
  token(role?: TestRole, userId?: string): Promise<{ token: string; userId: string }>;
}

export async function testIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const getKey = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256' }] });
  return {
    getKey,
    async token(role = 'LEARNER', userId = randomUUID()) {
      const token = await new SignJWT({ role, sid: randomUUID(), iat_ms: Date.now() })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(userId)
        .setIssuer('coursegraph-identity')
        .setAudience('coursegraph')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
      return { token, userId };
    },
  };
}
