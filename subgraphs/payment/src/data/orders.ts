/** Order queries beyond single loads. */
import type { SqlReads } from '@coursegraph/service-kit';
import type { Order, PrismaClient } from '../generated/prisma/client.js';
import type { Tx } from './db.js';
import { ordersOfUser } from './hot-reads.js';

export const findOrderByKey = (db: PrismaClient | Tx, userId: string, idempotencyKey: string) =>
  db.order.findUnique({ where: { userId_idempotencyKey: { userId, idempotencyKey } } });

/** The user's active order for a course (PENDING, PAID or PARTIALLY_REFUNDED), if any. */
export const findActiveOrder = (db: PrismaClient | Tx, userId: string, courseId: string) =>
  db.order.findFirst({ where: { userId, courseId, status: { in: ['PENDING', 'PAID', 'PARTIALLY_REFUNDED'] } } });

/** Locks an order row until the transaction ends, so refunds of one order run one at a time. */
export async function lockOrder(tx: Tx, orderId: string): Promise<Order | null> {
  const locked = await tx.$queryRaw<{ id: string }[]>`select id from orders where id = ${orderId}::uuid for update`;
  return locked.length === 0 ? null : tx.order.findUnique({ where: { id: orderId } });
}

/**
 * A page of a user's orders, newest first (ids are UUID v7, so id order is creation order). `sql`:
 * the hot reads' plain SQL (hot-reads.ts), or null for Prisma (DB_HOT_READS=prisma).
 */
export async function listUserOrders(
  db: PrismaClient,
  sql: SqlReads | null,
  userId: string,
  take: number,
  beforeId: string | null,
) {
  const [rows, totalCount] = sql
    ? await ordersOfUser(sql, userId, beforeId, take + 1)
    : await Promise.all([
        db.order.findMany({
          where: { userId, ...(beforeId ? { id: { lt: beforeId } } : {}) },
          orderBy: { id: 'desc' },
          take: take + 1,
        }),
        db.order.count({ where: { userId } }),
      ]);
  return { rows: rows.slice(0, take), hasNextPage: rows.length > take, totalCount };
}
