/** Reads of the ledger (writes go through domain/ledger.ts). */
import type { PrismaClient } from '../generated/prisma/client.js';

export interface AccountBalance {
  account: string;
  currency: string;
  balanceMinor: number;
}

/** Debits minus credits of every account, per currency. */
export async function accountBalances(db: PrismaClient): Promise<AccountBalance[]> {
  const rows = await db.$queryRaw<{ account: string; currency: string; balance: bigint }[]>`
    select account, currency, sum(amount_minor)::bigint as balance from ledger_entries group by account, currency order by currency, account`;
  return rows.map((r) => ({ account: r.account, currency: r.currency, balanceMinor: Number(r.balance) }));
}

export async function listLedgerEntries(
  db: PrismaClient,
  orderId: string | null,
  take: number,
  beforeId: string | null,
) {
  const where = orderId ? { orderId } : {};
  const [rows, totalCount] = await Promise.all([
    db.ledgerEntry.findMany({
      where: { ...where, ...(beforeId ? { id: { lt: beforeId } } : {}) },
      orderBy: { id: 'desc' },
      take: take + 1,
    }),
    db.ledgerEntry.count({ where }),
  ]);
  return { rows: rows.slice(0, take), hasNextPage: rows.length > take, totalCount };
}
