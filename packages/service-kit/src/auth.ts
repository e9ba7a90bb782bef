/**
 * The one auth context: how any service turns a request into a Viewer.
 *
 * Access tokens are short-lived JWTs signed by identity's asymmetric keys (JWKS). Every service
 * verifies them itself, so a subgraph called directly cannot be fooled by forged headers. Revocation
 * (log-out, deactivation, role change) is kept in Redis for the lifetime of an access token and is
 * checked on each verification.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Redis } from 'ioredis';
import { unauthenticated, forbidden } from './errors.js';
import { createLogger, type Logger } from './logger.js';

export const ROLES = ['LEARNER', 'INSTRUCTOR', 'ADMIN'] as const;

/** The longest access-token lifetime any verifier accepts (identity refuses to be configured longer). */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 3600;
export type Role = (typeof ROLES)[number];

/** Who is calling, as proven by a verified access token. */
export interface Viewer {
  userId: string;
  role: Role;
  /** The session (refresh-token family) the token was issued for. */
  sessionId: string;
  /** Issue time in milliseconds (`iat_ms` claim), compared with per-user revocation marks. */
  issuedAtMs: number;
}

/** Claims carried by an access token, beyond the registered ones. */
export interface AccessTokenClaims {
  sub: string;
  role: Role;
  sid: string;
  iat_ms: number;
}

export interface AuthVerifierOptions {
  /** Resolves the verification key for a token (a local or remote JWKS). */
  getKey: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  redis: Redis;
  /**
   * How many verified tokens to remember (oldest dropped first), so a token forwarded on every call
   * skips the ES256 check; 0 turns the cache off. Revocation is still checked on every call.
   */
  cacheSize?: number;
  /**
   * How long a remembered check holds before the signature is checked against the keys again, so
   * a signing key withdrawn from the JWKS stops being trusted as soon as the key set is re-read.
   * Default 10 minutes, the longest `remoteJwks` keeps a key set.
   */
  recheckAfterMs?: number;
  /** Where a revocation check that could not reach Redis is reported. Default: a logger named `auth`. */
  logger?: Pick<Logger, 'warn'>;
}

/** The longest a service trusts a key set it read from identity's JWKS. */
const JWKS_CACHE_MAX_AGE_MS = 600_000;

/** Revocations a verifier remembers for when Redis is away (oldest dropped first). */
const REMEMBERED_REVOCATIONS = 10_000;

/** At most one "Redis did not answer" warning per verifier this often. */
const REDIS_DOWN_WARNING_EVERY_MS = 10_000;

/** The default number of verified tokens a verifier remembers. */
export const DEFAULT_AUTH_CACHE_SIZE = 10_000;

const revokedSessionKey = (sessionId: string) => `auth:revoked-session:${sessionId}`;
const revokedBeforeKey = (userId: string) => `auth:revoked-before:${userId}`;

/** Marks one session's access tokens as revoked until they would have expired anyway. */
export async function revokeSessionAccess(redis: Redis, sessionId: string, accessTtlSeconds: number): Promise<void> {
  await redis.set(revokedSessionKey(sessionId), '1', 'EX', accessTtlSeconds);
}

/** Revokes every access token of a user issued before now (deactivation, role change). */
export async function revokeUserAccessBefore(
  redis: Redis,
  userId: string,
  accessTtlSeconds: number,
  nowMs = Date.now(),
): Promise<void> {
  await redis.set(revokedBeforeKey(userId), String(nowMs), 'EX', accessTtlSeconds);
}

/** The bearer token of a request, or null when none is sent. */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get('authorization');
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw unauthenticated('The Authorization header must be "Bearer <access token>".');
  return match[1]!;
}

export interface AuthVerifier {
  /** Verifies a token; throws UNAUTHENTICATED with a specific reason when it is not acceptable. */
  verify(token: string): Promise<Viewer>;
  /** The viewer of a request: null when anonymous, an error when a token is sent but bad. */
  viewerFromRequest(request: Request): Promise<Viewer | null>;
}

export function createAuthVerifier(options: AuthVerifierOptions): AuthVerifier {
  const cacheSize = options.cacheSize ?? DEFAULT_AUTH_CACHE_SIZE;
  if (!Number.isInteger(cacheSize) || cacheSize < 0)
    throw new Error(`cacheSize must be a whole number ≥ 0, got ${cacheSize}.`);
  // The gateway forwards the same token to every subgraph on every call: keep the outcome of the
  // signature and claims check per exact token string, never past the moment jose would refuse it.
  const verified = new Map<string, { viewer: Viewer; validUntilMs: number; recheckAtMs: number }>();
  const recheckAfterMs = options.recheckAfterMs ?? JWKS_CACHE_MAX_AGE_MS;

  async function checkSignatureAndClaims(token: string): Promise<Viewer> {
    const cached = verified.get(token);
    if (cached) {
      const now = Date.now();
      if (now >= cached.validUntilMs) {
        verified.delete(token);
        throw unauthenticated('The access token has expired; refresh it.');
      }
      if (now < cached.recheckAtMs) return cached.viewer;
      // Held long enough: check the signature against the current keys again.
      verified.delete(token);
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, options.getKey, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'iat'],
        // Revocation marks live as long as an access token may; an older token is never accepted.
        maxTokenAge: MAX_ACCESS_TOKEN_TTL_SECONDS,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired; refresh it.');
      throw unauthenticated('The access token is invalid.');
    }
    const { sub, role, sid, iat_ms: issuedAtMs, exp, iat } = payload;
    if (
      typeof sub !== 'string' ||
      typeof sid !== 'string' ||
      typeof issuedAtMs !== 'number' ||
      !ROLES.includes(role as Role)
    ) {
      throw unauthenticated('The access token is invalid.');
    }
    const viewer: Viewer = { userId: sub, role: role as Role, sessionId: sid, issuedAtMs };
    if (cacheSize > 0) {
      // The moment jwtVerify would refuse it (whole seconds, as jose counts): `exp` passed or `iat` too old.
      const validUntilMs =
        Math.min(Math.ceil(exp as number), Math.floor((iat as number) + MAX_ACCESS_TOKEN_TTL_SECONDS) + 1) * 1000;
      if (!verified.has(token) && verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
      verified.set(token, { viewer, validUntilMs, recheckAtMs: Date.now() + recheckAfterMs });
    }
    return viewer;
  }

  // Revocations this verifier has seen, so they still hold while Redis cannot be asked.
  const seenRevoked = new Map<string, number>();
  const remember = (key: string, value: number) => {
    if (!seenRevoked.has(key) && seenRevoked.size >= REMEMBERED_REVOCATIONS)
      seenRevoked.delete(seenRevoked.keys().next().value!);
    seenRevoked.set(key, value);
  };
  const logger = options.logger ?? createLogger('auth');
  let lastWarningMs = 0;

  /**
   * The revocation marks of a viewer from Redis, or, when Redis does not answer within its command
   * timeout, the ones this verifier has seen before (fail open).
   *
   * Why fail open: the token's signature and expiry were just checked, so only a token revoked
   * during the outage (log-out, deactivation, role change) is wrongly accepted, and only until it
   * expires (ACCESS_TOKEN_TTL_SECONDS, 15 minutes by default, at most an hour). Failing closed
   * would turn a Redis blip into every signed-in request failing, in the gateway and in every
   * subgraph at once. Revocations seen before the outage keep being enforced from memory.
   */
  async function revocationMarks(viewer: Viewer): Promise<[session: string | null, before: string | null]> {
    try {
      const [session, before] = await options.redis.mget(
        revokedSessionKey(viewer.sessionId),
        revokedBeforeKey(viewer.userId),
      );
      if (session) remember(`s:${viewer.sessionId}`, 1);
      if (before) remember(`u:${viewer.userId}`, Number(before));
      return [session ?? null, before ?? null];
    } catch (err) {
      const now = Date.now();
      if (now - lastWarningMs >= REDIS_DOWN_WARNING_EVERY_MS) {
        lastWarningMs = now;
        logger.warn(
          { err: (err as Error).message },
          'token revocation check skipped: Redis did not answer (failing open; revocations seen before still hold)',
        );
      }
      const before = seenRevoked.get(`u:${viewer.userId}`);
      return [seenRevoked.has(`s:${viewer.sessionId}`) ? '1' : null, before === undefined ? null : String(before)];
    }
  }

  async function verify(token: string): Promise<Viewer> {
    const viewer = await checkSignatureAndClaims(token);
    const [sessionRevoked, revokedBefore] = await revocationMarks(viewer);
    if (sessionRevoked || (revokedBefore && viewer.issuedAtMs <= Number(revokedBefore))) {
      throw unauthenticated('The access token has been revoked; sign in again.');
    }
    return { ...viewer };
  }

  return {
    verify,
    async viewerFromRequest(request) {
      const token = bearerToken(request);
      return token ? verify(token) : null;
    },
  };
}

/** Context fields every service's GraphQL context carries. */
export interface AuthContext {
  viewer: Viewer | null;
}

export function requireViewer(ctx: AuthContext): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

export function requireRole(ctx: AuthContext, ...roles: Role[]): Viewer {
  const viewer = requireViewer(ctx);
  if (!roles.includes(viewer.role)) throw forbidden(`This needs the ${roles.join(' or ')} role.`);
  return viewer;
}

/**
 * The key resolver for a service that is not identity: identity's JWKS over HTTP, cached, re-read
 * when a token names a key it has not seen (after a rotation), at most every 5 s.
 */
export function remoteJwks(jwksUrl: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 5_000, cacheMaxAge: JWKS_CACHE_MAX_AGE_MS });
}
