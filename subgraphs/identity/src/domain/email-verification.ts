/**
 * Email verification: proving that a user receives mail at their address, so that notification
 * mails only verified addresses. A token is "<userId>.<tokenId>.<secret>" (256 random bits of
 * secret), of which identity stores only SHA-256(secret), with an expiry. It works once; a newer
 * token (a resend) or a verification supersedes every older one. Sign-up and resend write
 * identity.email.verification_requested (notification mails the token); verification writes
 * identity.email.verified (notification may then mail the address).
 */
import {
  appError,
  conflict,
  ErrorCode,
  forbidden,
  isUuid,
  newId,
  type Logger,
  type Redis,
  type Viewer,
} from '@coursegraph/service-kit';
import type { PrismaClient, User } from '../generated/prisma/client.js';
import type { Tx } from '../data/db.js';
import { emailVerificationRequested, emailVerified } from './events.js';
import { hashSecret, newRefreshSecret, secretMatches } from './tokens.js';

export interface EmailVerificationOptions {
  /** How long a token works. */
  ttlMinutes: number;
  /** resendVerificationEmail calls allowed per user within the window. */
  resendLimit: number;
  /** Window of the resend limit, in seconds, from the first resend. */
  resendWindowSeconds: number;
}

/** Why a presented token is refused; `extensions.reason` of the BAD_USER_INPUT error. */
export type TokenRefusal = 'TOKEN_MALFORMED' | 'TOKEN_UNKNOWN' | 'TOKEN_EXPIRED' | 'TOKEN_USED' | 'TOKEN_SUPERSEDED';

const refusal = (reason: TokenRefusal, message: string) =>
  appError(ErrorCode.BAD_USER_INPUT, message, { field: 'token', reason });

export const formatVerificationToken = (userId: string, tokenId: string, secret: string) =>
  `${userId}.${tokenId}.${secret}`;

/** Splits a presented token; null when it is not of our format (nothing is looked up then). */
export function parseVerificationToken(token: string): { userId: string; tokenId: string; secret: string } | null {
  if (token.length > 200) return null;
  const parts = token.trim().split('.');
  if (parts.length !== 3) return null;
  const [userId, tokenId, secret] = parts as [string, string, string];
  if (!isUuid(userId) || !isUuid(tokenId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { userId, tokenId, secret };
}

/**
 * Makes a new token for the user's current address and announces it (in the caller's transaction,
 * on the request's trace): every older token of the user stops working.
 */
export async function requestVerification(
  tx: Tx,
  user: Pick<User, 'id' | 'email' | 'name'>,
  ttlMinutes: number,
  traceparent?: string,
  now = new Date(),
): Promise<{ token: string; expiresAt: Date }> {
  await tx.emailVerificationToken.updateMany({
    where: { userId: user.id, usedAt: null, supersededAt: null },
    data: { supersededAt: now },
  });
  const tokenId = newId();
  const secret = newRefreshSecret();
  const expiresAt = new Date(now.getTime() + ttlMinutes * 60_000);
  await tx.emailVerificationToken.create({
    data: {
      id: tokenId,
      userId: user.id,
      email: user.email,
      secretHash: hashSecret(secret),
      createdAt: now,
      expiresAt,
    },
  });
  const token = formatVerificationToken(user.id, tokenId, secret);
  await emailVerificationRequested(tx, user, token, expiresAt, traceparent);
  return { token, expiresAt };
}

// KEYS[1]: the user's counter. ARGV[1]: window seconds, ARGV[2]: limit. Counts the call unless the
// limit is reached (atomic, so concurrent calls cannot pass it); returns { allowed, ttl }.
const RESERVE_RESEND = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then return { 0, redis.call('TTL', KEYS[1]) } end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return { 1, 0 }
`;

export class EmailVerification {
  constructor(
    private readonly deps: { db: PrismaClient; redis: Redis; logger: Logger; options: EmailVerificationOptions },
  ) {}

  /**
   * Marks the token's account verified. Anyone holding the token may (it came by mail to the
   * address), but a signed-in caller only for their own account: a link opened in another
   * account's session is refused rather than silently verifying someone else.
   */
  async verify(presented: string, viewer: Viewer | null, traceparent?: string, now = new Date()): Promise<User> {
    const parsed = parseVerificationToken(presented);
    if (!parsed)
      throw refusal('TOKEN_MALFORMED', 'This is not an email verification token; copy it whole from the email.');
    if (viewer && viewer.userId !== parsed.userId) {
      throw forbidden(
        'This verification token belongs to another account; sign out, or sign in to that account, to use it.',
      );
    }
    return this.deps.db.$transaction(async (tx) => {
      const row = await tx.emailVerificationToken.findUnique({
        where: { userId_id: { userId: parsed.userId, id: parsed.tokenId } },
        include: { user: true },
      });
      // A token id paired with another user's id, or a wrong secret, is simply unknown.
      if (!row || !secretMatches(parsed.secret, row.secretHash)) {
        throw refusal('TOKEN_UNKNOWN', 'This verification token is not known; ask for a new verification email.');
      }
      if (row.usedAt) throw refusal('TOKEN_USED', 'This verification token was already used; it works only once.');
      if (row.supersededAt)
        throw refusal(
          'TOKEN_SUPERSEDED',
          'A newer verification email replaced this one; use the token from the latest email.',
        );
      if (row.expiresAt <= now)
        throw refusal('TOKEN_EXPIRED', 'This verification token has expired; ask for a new verification email.');
      if (row.user.deactivatedAt) throw forbidden('This account has been deactivated.');
      if (row.email !== row.user.email)
        throw refusal(
          'TOKEN_SUPERSEDED',
          "The account's address changed since this token was sent; ask for a new verification email.",
        );
      // Conditional, so that of two concurrent uses of one token only one succeeds.
      const { count } = await tx.emailVerificationToken.updateMany({
        where: { userId: row.userId, id: row.id, usedAt: null, supersededAt: null },
        data: { usedAt: now },
      });
      if (count !== 1) throw refusal('TOKEN_USED', 'This verification token was already used; it works only once.');
      await tx.emailVerificationToken.updateMany({
        where: { userId: row.userId, usedAt: null, supersededAt: null },
        data: { supersededAt: now },
      });
      if (row.user.emailVerifiedAt) return row.user;
      const user = await tx.user.update({ where: { id: row.userId }, data: { emailVerifiedAt: now } });
      await emailVerified(tx, user, now, traceparent);
      return user;
    });
  }

  /**
   * Mails the signed-in user a new token. Limited per user in Redis: an unverified address may be
   * someone else's, typed at sign-up, and must not be flooded. Redis down: refused (fail closed,
   * RATE_LIMITED with reason VERIFICATION_RESEND_UNAVAILABLE), for the same reason.
   */
  async resend(viewer: Viewer, traceparent?: string): Promise<void> {
    const user = await this.deps.db.user.findUnique({ where: { id: viewer.userId } });
    if (!user || user.deactivatedAt) throw forbidden('This account has been deactivated.');
    if (user.emailVerifiedAt) throw conflict('Your email address is already verified.');
    await this.reserveResend(user.id);
    await this.deps.db.$transaction((tx) => requestVerification(tx, user, this.deps.options.ttlMinutes, traceparent));
  }

  private async reserveResend(userId: string): Promise<void> {
    const { resendLimit, resendWindowSeconds } = this.deps.options;
    let outcome: [number, number];
    try {
      outcome = (await this.deps.redis.eval(
        RESERVE_RESEND,
        1,
        `identity:verification-resends:${userId}`,
        String(resendWindowSeconds),
        String(resendLimit),
      )) as [number, number];
    } catch (err) {
      this.deps.logger.warn(
        { err: (err as Error).message },
        'verification resend limit unavailable (Redis): resend refused',
      );
      throw appError(
        ErrorCode.RATE_LIMITED,
        'Sending verification emails is briefly unavailable. Try again in a few seconds.',
        {
          reason: 'VERIFICATION_RESEND_UNAVAILABLE',
          retryAfterSeconds: 5,
        },
      );
    }
    const [allowed, ttl] = outcome;
    if (allowed !== 1) {
      const retryAfterSeconds = Math.max(1, ttl);
      throw appError(
        ErrorCode.RATE_LIMITED,
        `Too many verification emails asked for. Try again in ${retryAfterSeconds} seconds.`,
        {
          reason: 'VERIFICATION_RESEND_LIMIT',
          retryAfterSeconds,
        },
      );
    }
  }
}
