/**
 * Payment's hot read in plain SQL (DB_HOT_READS=sql, the kit's sql-reads.ts): a user's orders, which
 * every signed-in dashboard lists. Returns exactly what the Prisma read beside it in orders.ts
 * returns; test/hot-reads.test.ts runs both on the same rows. Columns as prisma/payment/schema.prisma maps them.
 */
import { preparedRead, type SqlReads } from '@coursegraph/service-kit';
import type { Order } from '../generated/prisma/client.js';

const OF_USER = preparedRead<Order>(
  'payment.orders_of_user',
  `select id::text, user_id::text as "userId", course_id::text as "courseId", idempotency_key as "idempotencyKey",
          request_hash as "requestHash", status, currency, subtotal_minor as "subtotalMinor",
          discount_minor as "discountMinor", total_minor as "totalMinor", refunded_minor as "refundedMinor",
          coupon_id::text as "couponId", coupon_code as "couponCode", failure_reason as "failureReason",
          created_at as "createdAt", updated_at as "updatedAt", paid_at as "paidAt", failed_at as "failedAt"
     from payment.orders
    where user_id = $1::uuid and ($2::uuid is null or id < $2)
    order by id desc
    limit $3`,
);
const COUNT_OF_USER = preparedRead<{ n: number }>(
  'payment.order_count_of_user',
  `select count(*)::int as n from payment.orders where user_id = $1::uuid`,
);

/** A user's orders newest first, before `beforeId` when given, at most `limit`; and how many they have. */
export async function ordersOfUser(
  sql: SqlReads,
  userId: string,
  beforeId: string | null,
  limit: number,
): Promise<[Order[], number]> {
  const [rows, count] = await Promise.all([
    sql.rows(OF_USER, [userId, beforeId, limit]),
    sql.rows(COUNT_OF_USER, [userId]),
  ]);
  return [rows, count[0]!.n];
}
