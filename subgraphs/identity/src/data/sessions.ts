/** Data access for sessions (refresh-token families) and their refresh tokens. */
import type { Tx } from './db.js';

export type RevokeReason = 'LOGOUT' | 'REUSE_DETECTED' | 'DEACTIVATED';

export async function createSession(tx: Tx, sessionId: string, userId: string): Promise<void> {
  await tx.session.create({ data: { id: sessionId, userId } });
}

export async function insertRefreshToken(
  tx: Tx,
  token: { id: string; userId: string; sessionId: string; secretHash: string; expiresAt: Date },
): Promise<void> {
  await tx.refreshToken.create({ data: token });
}

export const findRefreshToken = (tx: Tx, userId: string, id: string) =>
  tx.refreshToken.findUnique({ where: { userId_id: { userId, id } }, include: { session: true } });

/** Marks a token spent; false when it was already spent (a concurrent or repeated exchange). */
export async function markRefreshTokenUsed(tx: Tx, userId: string, id: string, at: Date): Promise<boolean> {
  const { count } = await tx.refreshToken.updateMany({ where: { userId, id, usedAt: null }, data: { usedAt: at } });
  return count === 1;
}

export async function touchSession(tx: Tx, userId: string, sessionId: string, at: Date): Promise<void> {
  await tx.session.update({ where: { userId_id: { userId, id: sessionId } }, data: { lastUsedAt: at } });
}

export async function revokeSession(tx: Tx, userId: string, sessionId: string, reason: RevokeReason): Promise<void> {
  await tx.session.updateMany({
    where: { userId, id: sessionId, revokedAt: null },
    data: { revokedAt: new Date(), revokeReason: reason },
  });
}

/** Ends every open session of a user; returns their ids so their access tokens can be revoked too. */
export async function revokeAllSessions(tx: Tx, userId: string, reason: RevokeReason): Promise<string[]> {
  const open = await tx.session.findMany({ where: { userId, revokedAt: null }, select: { id: true } });
  await tx.session.updateMany({
    where: { userId, revokedAt: null },
    data: { revokedAt: new Date(), revokeReason: reason },
  });
  return open.map((s) => s.id);
}
