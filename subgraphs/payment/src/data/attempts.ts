/**
 * Provider attempts: the row committed (state REQUESTED) before payment calls its provider, so a
 * crash, a timeout or a lost answer leaves a record that a look-up resolves later. Outcomes are
 * applied by conditional updates on the state (domain/charges.ts, domain/refunds.ts).
 */
import type { AttemptKind, PrismaClient, ProviderAttempt } from '../generated/prisma/client.js';
import type { Tx } from './db.js';

export type { ProviderAttempt };

export const findChargeAttempt = (db: PrismaClient | Tx, orderId: string) =>
  db.providerAttempt.findFirst({ where: { orderId, kind: 'CHARGE' } });

/** Locks an attempt row until the transaction ends (after its order's row: always order first). */
export async function lockAttempt(tx: Tx, id: string): Promise<ProviderAttempt | null> {
  const locked = await tx.$queryRaw<
    { id: string }[]
  >`select id from provider_attempts where id = ${id}::uuid for update`;
  return locked.length === 0 ? null : tx.providerAttempt.findUnique({ where: { id } });
}

/** Minor units of refunds of an order still REQUESTED (reserved: a new refund may not count on them). */
export async function refundsInFlight(tx: Tx | PrismaClient, orderId: string): Promise<number> {
  const sum = await tx.providerAttempt.aggregate({
    where: { orderId, kind: 'REFUND', state: 'REQUESTED' },
    _sum: { amountMinor: true },
  });
  return sum._sum.amountMinor ?? 0;
}

/**
 * Claims up to `limit` REQUESTED attempts of `kind` that are due (and, with `createdBefore`, old
 * enough): each gets a lease (next_attempt_at moves `leaseMs` ahead) and one more try, so two
 * workers never work on one attempt at once, and one that dies mid-way is picked up after the lease.
 */
export async function claimDueAttempts(
  db: PrismaClient,
  kind: AttemptKind,
  leaseMs: number,
  limit: number,
  createdBefore: Date | null,
  orderIds: string[] | null = null,
): Promise<ProviderAttempt[]> {
  const ids = await db.$queryRaw<{ id: string }[]>`
    update provider_attempts set next_attempt_at = now() + ${leaseMs} * interval '1 millisecond', tries = tries + 1
    where id in (
      select id from provider_attempts
      where state = 'REQUESTED' and kind = ${kind}::"AttemptKind" and next_attempt_at <= now()
        and (${createdBefore}::timestamptz is null or created_at <= ${createdBefore}::timestamptz)
        and (${orderIds}::uuid[] is null or order_id = any(${orderIds}::uuid[]))
      order by next_attempt_at limit ${limit}
      for update skip locked)
    returning id`;
  if (ids.length === 0) return [];
  return db.providerAttempt.findMany({ where: { id: { in: ids.map((r) => r.id) } }, orderBy: { createdAt: 'asc' } });
}

/** Puts a still-REQUESTED attempt back to wait `delayMs`, noting why. */
export async function scheduleRetry(db: PrismaClient, id: string, delayMs: number, error: string): Promise<void> {
  await db.$executeRaw`
    update provider_attempts set next_attempt_at = now() + ${delayMs} * interval '1 millisecond', last_error = ${error.slice(0, 500)}
    where id = ${id}::uuid and state = 'REQUESTED'`;
}

/** Capped exponential backoff: base, 2·base, 4·base, … never above max. */
export const backoffMs = (tries: number, baseMs: number, maxMs: number) =>
  Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(tries - 1, 30)));

export interface PendingCounts {
  pendingOrders: number;
  pendingCompensations: number;
  oldestPendingAt: Date | null;
}

/** What operators watch: charges with no known outcome, refunds not yet confirmed by the provider. */
export async function pendingCounts(db: PrismaClient): Promise<PendingCounts> {
  const [pendingOrders, pendingCompensations, oldest] = await Promise.all([
    db.order.count({ where: { status: 'PENDING' } }),
    db.providerAttempt.count({ where: { kind: 'REFUND', state: 'REQUESTED' } }),
    db.$queryRaw<{ at: Date | null }[]>`
      select least(
        (select min(created_at) from orders where status = 'PENDING'),
        (select min(created_at) from provider_attempts where kind = 'REFUND' and state = 'REQUESTED')) as at`,
  ]);
  return { pendingOrders, pendingCompensations, oldestPendingAt: oldest[0]?.at ?? null };
}
