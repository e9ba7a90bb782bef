/**
 * The events identity publishes, written to its outbox inside the caller's transaction: other
 * contexts (notification) learn users' addresses and deactivations from them, never from our tables.
 */
import { IdentityEvents } from '@coursegraph/contracts';
import { enqueueEvent, type SqlExecutor } from '@coursegraph/service-kit';
import type { User } from '../generated/prisma/client.js';

export const IDENTITY_CONTEXT = 'identity';

export function userRegistered(tx: SqlExecutor, user: Pick<User, 'id' | 'email' | 'name' | 'role' | 'createdAt'>): Promise<string> {
  return enqueueEvent(tx, IDENTITY_CONTEXT, IdentityEvents.userRegistered, {
    userId: user.id, email: user.email, name: user.name, role: user.role, registeredAt: user.createdAt.toISOString(),
  });
}

export function userDeactivated(tx: SqlExecutor, user: Pick<User, 'id'>, deactivatedAt: Date): Promise<string> {
  return enqueueEvent(tx, IDENTITY_CONTEXT, IdentityEvents.userDeactivated, { userId: user.id, deactivatedAt: deactivatedAt.toISOString() });
}
