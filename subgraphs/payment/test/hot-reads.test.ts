/**
 * A user's orders in plain SQL (src/data/hot-reads.ts, DB_HOT_READS=sql) are exactly the Prisma
 * path's: the same rows (nulls, dates, every status), pages and totals, on the same rows.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextDatabaseUrl } from '@coursegraph/test-support';
import { newId } from '@coursegraph/service-kit';
import { createDatabase } from '../src/data/db.js';
import { listUserOrders } from '../src/data/orders.js';

let both: ReturnType<typeof createDatabase>;
const userId = randomUUID();

beforeAll(async () => {
  both = createDatabase(contextDatabaseUrl('payment'), { poolSize: 2, hotReads: 'sql' });
  const base = { userId, currency: 'USD', subtotalMinor: 4900, discountMinor: 0, totalMinor: 4900 };
  // Settled statuses (a PENDING one would count in other tests' pending gauges), with and without a
  // coupon, paid and failed times: every nullable column both ways.
  const orders = [
    { status: 'REFUNDED' as const, paidAt: new Date(), refundedMinor: 4900 },
    { status: 'PAID' as const, paidAt: new Date('2026-03-04T05:06:07.089Z') },
    {
      status: 'PARTIALLY_REFUNDED' as const,
      paidAt: new Date(),
      refundedMinor: 1000,
      couponId: randomUUID(),
      couponCode: 'SPRING',
      discountMinor: 900,
      totalMinor: 4000,
    },
    { status: 'FAILED' as const, failedAt: new Date(), failureReason: 'DECLINED' },
  ];
  for (const [i, o] of orders.entries())
    await both.db.order.create({
      data: { ...base, ...o, id: newId(), courseId: randomUUID(), idempotencyKey: `k${i}`, requestHash: `h${i}` },
    });
});

afterAll(async () => {
  await both?.db.order.deleteMany({ where: { userId } });
  await both?.db.$disconnect();
});

describe("a user's orders", () => {
  it('are the same page both ways, newest first, page after page, with the same total', async () => {
    for (const take of [1, 3, 10]) {
      let beforeId: string | null = null;
      for (let n = 0; n < 5; n++) {
        const s = await listUserOrders(both.db, both.sql, userId, take, beforeId);
        expect(s).toStrictEqual(await listUserOrders(both.db, null, userId, take, beforeId));
        expect(s.totalCount).toBe(4);
        if (!s.hasNextPage) break;
        beforeId = s.rows.at(-1)!.id;
      }
    }
  });

  it('are the same (none) for a user without orders', async () => {
    const none = await listUserOrders(both.db, both.sql, randomUUID(), 3, null);
    expect(none).toStrictEqual(await listUserOrders(both.db, null, randomUUID(), 3, null));
    expect(none).toStrictEqual({ rows: [], hasNextPage: false, totalCount: 0 });
  });
});
