/**
 * Demo coupons for `npm start` (orders are made later, through the platform's own flows).
 * Idempotent: coupons that exist (by code) are left alone.
 *
 *   node subgraphs/payment/dist/seed.js
 */
import { newId, refuseInProduction } from '@coursegraph/service-kit';
import { createDb } from './data/db.js';

/** Who "created" seeded coupons: no user, the nil UUID. */
const SEED_AUTHOR = '00000000-0000-0000-0000-000000000000';

export const DEMO_COUPONS = [
  { code: 'WELCOME10', kind: 'PERCENT', percentOff: 10 },
  { code: 'SAVE5', kind: 'FIXED', amountOffMinor: 500, currency: 'USD' },
  { code: 'LAUNCH50', kind: 'PERCENT', percentOff: 50, maxRedemptions: 100 },
  { code: 'SPRING2024', kind: 'PERCENT', percentOff: 25, expiresAt: new Date('2024-06-01T00:00:00Z') },
] as const;

export async function seedPayment(databaseUrl: string, log = console.log): Promise<number> {
  const db = createDb(databaseUrl, 2);
  try {
    const { count } = await db.coupon.createMany({
      data: DEMO_COUPONS.map((c) => ({ id: newId(), createdBy: SEED_AUTHOR, ...c })),
      skipDuplicates: true,
    });
    log(`seed payment: ${DEMO_COUPONS.length} coupons (${count} new): ${DEMO_COUPONS.map((c) => c.code).join(', ')}`);
    return count;
  } finally {
    await db.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refuseInProduction('the payment demo seed');
  await seedPayment(
    process.env.PAYMENT_DATABASE_URL ?? 'postgres://cg_payment:cg_payment_dev@127.0.0.1:5432/coursegraph',
  );
}
