/** Per-request DataLoaders: every load by key goes through one, so a list costs a constant number of queries. */
import DataLoader from 'dataloader';
import type { Order, Payment, PrismaClient, Refund } from '../generated/prisma/client.js';

export interface Loaders {
  order: DataLoader<string, Order | null>;
  paymentsByOrder: DataLoader<string, Payment[]>;
  refundsByOrder: DataLoader<string, Refund[]>;
}

function groupBy<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>(keys.map((k) => [k, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((k) => groups.get(k)!);
}

export function createLoaders(db: PrismaClient): Loaders {
  return {
    order: new DataLoader(async (ids) => {
      const rows = await db.order.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((o) => [o.id, o]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    paymentsByOrder: new DataLoader(async (orderIds) =>
      groupBy(
        orderIds,
        await db.payment.findMany({ where: { orderId: { in: [...orderIds] } }, orderBy: { id: 'asc' } }),
        (p) => p.orderId,
      ),
    ),
    refundsByOrder: new DataLoader(async (orderIds) =>
      groupBy(
        orderIds,
        await db.refund.findMany({ where: { orderId: { in: [...orderIds] } }, orderBy: { id: 'asc' } }),
        (r) => r.orderId,
      ),
    ),
  };
}
