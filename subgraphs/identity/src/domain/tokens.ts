/**
 * Token formats. Access tokens are ES256 JWTs (claims in service-kit's AccessTokenClaims).
 * Refresh tokens are opaque: "<userId>.<tokenId>.<secret>", of which only SHA-256(secret) is stored;
 * carrying the user id keeps every lookup keyed by user.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';
import { isUuid, type AccessTokenClaims, type Role } from '@coursegraph/service-kit';
import { ALGORITHM, type SigningKeyStore } from './signing-keys.js';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export async function signAccessToken(
  keys: SigningKeyStore,
  settings: TokenSettings,
  subject: { userId: string; role: Role; sessionId: string },
  nowMs = Date.now(),
): Promise<{ token: string; expiresAt: Date }> {
  const { kid, privateKey } = keys.signingKey();
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + settings.accessTtlSeconds;
  const claims: Omit<AccessTokenClaims, 'sub'> = { role: subject.role, sid: subject.sessionId, iat_ms: nowMs };
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'JWT' })
    .setSubject(subject.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(privateKey);
  return { token, expiresAt: new Date(exp * 1000) };
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function newRefreshSecret(): string {
  return randomBytes(32).toString('base64url');
}

export const formatRefreshToken = (userId: string, tokenId: string, secret: string) => `${userId}.${tokenId}.${secret}`;

/** Splits a presented refresh token; null when it is not of our format. */
export function parseRefreshToken(token: string): { userId: string; tokenId: string; secret: string } | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [userId, tokenId, secret] = parts as [string, string, string];
  if (!isUuid(userId) || !isUuid(tokenId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { userId, tokenId, secret };
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
