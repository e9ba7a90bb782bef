/**
 * The events identity publishes, written to its outbox inside the caller's transaction: other
 * contexts (notification) learn users' addresses and deactivations from them, never from our tables.
 */
import { IdentityEvents } from '@coursegraph/contracts';
import { enqueueEvent, type SqlExecutor } from '@coursegraph/service-kit';
import type { User } from '../generated/prisma/client.js';

export const IDENTITY_CONTEXT = 'identity';

// Every function takes the causing request's `traceparent`; absent (seeds), the event starts a new trace.

export function userRegistered(
  tx: SqlExecutor,
  user: Pick<User, 'id' | 'email' | 'name' | 'role' | 'createdAt' | 'emailVerifiedAt'>,
  traceparent?: string,
): Promise<string> {
  return enqueueEvent(
    tx,
    IDENTITY_CONTEXT,
    IdentityEvents.userRegistered,
    {
      userId: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      registeredAt: user.createdAt.toISOString(),
      emailVerifiedAt: user.emailVerifiedAt?.toISOString() ?? '',
    },
    { traceparent },
  );
}

/**
 * Carries the raw token to notification, the one context that mails it (identity stores only its
 * hash). Acceptable on the internal bus: the IDENTITY stream is read only by contexts given that
 * right, and the token proves one address for one account, once, until it expires.
 */
export function emailVerificationRequested(
  tx: SqlExecutor,
  user: Pick<User, 'id' | 'email' | 'name'>,
  token: string,
  expiresAt: Date,
  traceparent?: string,
): Promise<string> {
  return enqueueEvent(
    tx,
    IDENTITY_CONTEXT,
    IdentityEvents.emailVerificationRequested,
    {
      userId: user.id,
      email: user.email,
      name: user.name,
      token,
      expiresAt: expiresAt.toISOString(),
    },
    { traceparent },
  );
}

export function emailVerified(
  tx: SqlExecutor,
  user: Pick<User, 'id' | 'email'>,
  verifiedAt: Date,
  traceparent?: string,
): Promise<string> {
  return enqueueEvent(
    tx,
    IDENTITY_CONTEXT,
    IdentityEvents.emailVerified,
    { userId: user.id, email: user.email, verifiedAt: verifiedAt.toISOString() },
    { traceparent },
  );
}

export function userDeactivated(
  tx: SqlExecutor,
  user: Pick<User, 'id'>,
  deactivatedAt: Date,
  traceparent?: string,
): Promise<string> {
  return enqueueEvent(
    tx,
    IDENTITY_CONTEXT,
    IdentityEvents.userDeactivated,
    { userId: user.id, deactivatedAt: deactivatedAt.toISOString() },
    { traceparent },
  );
}
