/**
 * Identity's use cases: sign-up, sign-in, refresh-token rotation with reuse detection, sign-out,
 * and the admin operations on accounts. Resolvers call these; these call the data layer.
 */
import {
  badInput,
  conflict,
  forbidden,
  notFound,
  unauthenticated,
  newId,
  revokeSessionAccess,
  revokeUserAccessBefore,
  type Logger,
  type Redis,
  type Role,
  type Viewer,
  isUniqueViolation,
} from '@coursegraph/service-kit';
import type { PrismaClient, User } from '../generated/prisma/client.js';
import { type Tx } from '../data/db.js';
import { findUserByEmailKey } from '../data/users.js';
import * as sessions from '../data/sessions.js';
import { emailKey, validateEmail, validateName } from './email.js';
import { checkPasswordPolicy, PASSWORD_MAX_LENGTH } from './password-policy.js';
import type { PasswordHasher } from './password-hash.js';
import { userDeactivated, userRegistered } from './events.js';
import { requestVerification } from './email-verification.js';
import type { LoginThrottle } from './login-throttle.js';
import type { SigningKeyStore } from './signing-keys.js';
import {
  formatRefreshToken,
  hashSecret,
  newRefreshSecret,
  parseRefreshToken,
  secretMatches,
  signAccessToken,
  type TokenSettings,
} from './tokens.js';

export interface AuthPayload {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
}

export interface AccountsDeps {
  db: PrismaClient;
  redis: Redis;
  keys: SigningKeyStore;
  throttle: LoginThrottle;
  passwords: PasswordHasher;
  tokens: TokenSettings;
  logger: Logger;
  /** Lifetime of the email verification token a sign-up mails. */
  verificationTtlMinutes: number;
}

const INVALID_REFRESH = 'The refresh token is invalid; sign in again.';

export class Accounts {
  constructor(private readonly deps: AccountsDeps) {}

  /** `traceparent`: the request's trace, carried into the events (a new trace when absent). */
  async signUp(input: { email: string; password: string; name: string }, traceparent?: string): Promise<AuthPayload> {
    const email = validateEmail(input.email);
    const name = validateName(input.name);
    checkPasswordPolicy(input.password, email);
    const key = emailKey(email);
    if (await findUserByEmailKey(this.deps.db, key))
      throw conflict('An account with this email already exists.', 'email');
    const passwordHash = await this.deps.passwords.hash(input.password);
    const userId = newId();
    try {
      return await this.deps.db.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { id: userId, email, emailKey: key, name, passwordHash } });
        await userRegistered(tx, user, traceparent);
        // The address is unverified until the mailed token comes back (verifyEmail).
        await requestVerification(tx, user, this.deps.verificationTtlMinutes, traceparent);
        return this.startSession(tx, user);
      });
    } catch (err) {
      // Two sign-ups racing for one email: the unique key decides, the loser gets the same answer.
      if (isUniqueViolation(err)) throw conflict('An account with this email already exists.', 'email');
      throw err;
    }
  }

  /** `clientIp`: the caller's address as the gateway vouched for it, or null (a direct caller). */
  async logIn(input: { email: string; password: string }, clientIp: string | null = null): Promise<AuthPayload> {
    if (input.email.trim() === '' || input.password === '') throw badInput('Email and password are required.');
    if (input.password.length > PASSWORD_MAX_LENGTH) throw unauthenticated('Email or password is incorrect.');
    const key = emailKey(input.email);
    // Reserved before the password is checked: concurrent guesses cannot pass the limit.
    const attempt = await this.deps.throttle.reserve(key, clientIp);
    let user: User | null;
    let ok: boolean;
    try {
      user = await findUserByEmailKey(this.deps.db, key);
      ok = await this.deps.passwords.verify(user?.passwordHash ?? null, input.password);
    } catch (err) {
      // Nothing was learnt about the password (an outage, or no turn to hash): not a failure.
      await attempt.abandoned();
      throw err;
    }
    if (!user || !ok) {
      attempt.failed();
      throw unauthenticated('Email or password is incorrect.');
    }
    await attempt.succeeded();
    if (user.deactivatedAt) throw forbidden('This account has been deactivated.');
    return this.deps.db.$transaction((tx) => this.startSession(tx, user));
  }

  /** Exchanges a refresh token for a new pair. A spent token presented again ends its session. */
  async refresh(presented: string): Promise<AuthPayload> {
    const parsed = parseRefreshToken(presented);
    if (!parsed) throw unauthenticated(INVALID_REFRESH);
    const now = new Date();
    const outcome = await this.deps.db.$transaction(async (tx) => {
      const row = await sessions.findRefreshToken(tx, parsed.userId, parsed.tokenId);
      if (!row || !secretMatches(parsed.secret, row.secretHash)) return { kind: 'invalid' as const };
      if (row.session.revokedAt) return { kind: 'ended' as const };
      if (row.expiresAt <= now) return { kind: 'expired' as const };
      if (!(await sessions.markRefreshTokenUsed(tx, row.userId, row.id, now))) {
        await sessions.revokeSession(tx, row.userId, row.sessionId, 'REUSE_DETECTED');
        return { kind: 'reused' as const, sessionId: row.sessionId, userId: row.userId };
      }
      const user = await tx.user.findUniqueOrThrow({ where: { id: row.userId } });
      if (user.deactivatedAt) return { kind: 'deactivated' as const };
      await sessions.touchSession(tx, row.userId, row.sessionId, now);
      return { kind: 'ok' as const, payload: await this.issue(tx, user, row.sessionId) };
    });
    switch (outcome.kind) {
      case 'ok':
        return outcome.payload;
      case 'reused':
        await revokeSessionAccess(this.deps.redis, outcome.sessionId, this.deps.tokens.accessTtlSeconds);
        this.deps.logger.warn(
          { userId: outcome.userId, sessionId: outcome.sessionId },
          'refresh token reuse: session revoked',
        );
        throw unauthenticated(
          'This refresh token was already used, so the session has been ended for safety; sign in again.',
        );
      case 'expired':
        throw unauthenticated('The refresh token has expired; sign in again.');
      case 'ended':
        throw unauthenticated('This session has ended; sign in again.');
      case 'deactivated':
        throw forbidden('This account has been deactivated.');
      case 'invalid':
        throw unauthenticated(INVALID_REFRESH);
    }
  }

  async logOut(viewer: Viewer): Promise<void> {
    await this.deps.db.$transaction((tx) => sessions.revokeSession(tx, viewer.userId, viewer.sessionId, 'LOGOUT'));
    await revokeSessionAccess(this.deps.redis, viewer.sessionId, this.deps.tokens.accessTtlSeconds);
  }

  async changeRole(admin: Viewer, userId: string, role: Role): Promise<User> {
    if (userId === admin.userId) throw badInput('You cannot change your own role.', 'userId');
    const user = await this.findOrThrow(userId);
    if (user.role === role) return user;
    const updated = await this.deps.db.user.update({ where: { id: userId }, data: { role } });
    // Tokens carry the role: make the user refresh to pick up the new one.
    await revokeUserAccessBefore(this.deps.redis, userId, this.deps.tokens.accessTtlSeconds);
    return updated;
  }

  async deactivate(admin: Viewer, userId: string, traceparent?: string): Promise<User> {
    if (userId === admin.userId) throw badInput('You cannot deactivate your own account.', 'userId');
    const user = await this.findOrThrow(userId);
    if (user.deactivatedAt) return user;
    const updated = await this.deps.db.$transaction(async (tx) => {
      await sessions.revokeAllSessions(tx, userId, 'DEACTIVATED');
      const deactivatedAt = new Date();
      await userDeactivated(tx, user, deactivatedAt, traceparent);
      return tx.user.update({ where: { id: userId }, data: { deactivatedAt } });
    });
    await revokeUserAccessBefore(this.deps.redis, userId, this.deps.tokens.accessTtlSeconds);
    return updated;
  }

  private async findOrThrow(userId: string): Promise<User> {
    const user = await this.deps.db.user.findUnique({ where: { id: userId } });
    if (!user) throw notFound(`No user with id ${userId}.`);
    return user;
  }

  private async startSession(tx: Tx, user: User): Promise<AuthPayload> {
    const sessionId = newId();
    await sessions.createSession(tx, sessionId, user.id);
    return this.issue(tx, user, sessionId);
  }

  private async issue(tx: Tx, user: User, sessionId: string): Promise<AuthPayload> {
    const secret = newRefreshSecret();
    const tokenId = newId();
    const refreshTokenExpiresAt = new Date(Date.now() + this.deps.tokens.refreshTtlSeconds * 1000);
    await sessions.insertRefreshToken(tx, {
      id: tokenId,
      userId: user.id,
      sessionId,
      secretHash: hashSecret(secret),
      expiresAt: refreshTokenExpiresAt,
    });
    const access = await signAccessToken(this.deps.keys, this.deps.tokens, {
      userId: user.id,
      role: user.role,
      sessionId,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: formatRefreshToken(user.id, tokenId, secret),
      refreshTokenExpiresAt,
      user,
    };
  }
}
