/**
 * Demo orders for `npm start`, made through the real checkout (sandbox provider), so every paid
 * order becomes a payment.succeeded event and, through the saga, a PAID enrollment. Runs after the
 * services are up: it waits until payment's course-price projection has caught up with the catalog.
 * Idempotent: each order uses a fixed idempotency key, so a second run replays instead of charging.
 *
 *   SEED_LEARNER_IDS       comma-separated learner ids (the orchestrator reads them from identity)
 *   SEED_EXPECTED_COURSES  published courses to wait for
 *   SEED_BUYER_SHARE       share of learners who buy one paid course (default 0.35)
 */
import {
  createLogger,
  seededRandom,
  waitForProjection,
  refuseInProduction,
  type Viewer,
} from '@coursegraph/service-kit';
import { createDb } from './data/db.js';
import { Checkout } from './domain/checkout.js';
import { SandboxProvider, SANDBOX_CARDS } from './providers/index.js';

export async function seedOrders(
  databaseUrl: string,
  learnerIds: string[],
  expectedCourses: number,
  buyerShare: number,
  log = console.log,
) {
  const db = createDb(databaseUrl, 8);
  try {
    await waitForProjection(
      'payment',
      () => db.coursePrice.count({ where: { status: 'PUBLISHED' } }),
      expectedCourses,
      log,
    );
    const paid = await db.coursePrice.findMany({
      where: { status: 'PUBLISHED', priceMinor: { gt: 0 } },
      orderBy: { courseId: 'asc' },
      select: { courseId: true },
    });
    if (paid.length === 0) return { paid: 0, declined: 0 };
    const checkout = new Checkout({
      db,
      provider: new SandboxProvider(),
      logger: createLogger('seed-orders', 'silent'),
    });
    // Plan first (sequentially, so the seeded choices are the same everywhere), then check out in parallel.
    const random = seededRandom(7);
    const plans = learnerIds.flatMap((userId) => {
      const buys = random() < buyerShare;
      const course = paid[Math.floor(random() * paid.length)]!;
      const declined = random() < 0.08;
      const coupon = random() < 0.15;
      return buys ? [{ userId, courseId: course.courseId, declined, coupon }] : [];
    });
    const outcome = { paid: 0, declined: 0 };
    const buy = async (plan: (typeof plans)[number]) => {
      const viewer: Viewer = { userId: plan.userId, role: 'LEARNER', sessionId: 'seed', issuedAtMs: Date.now() };
      try {
        await checkout.checkout(viewer, {
          courseId: plan.courseId,
          idempotencyKey: `demo-order-${plan.userId}`,
          paymentMethod: plan.declined ? SANDBOX_CARDS.declined : SANDBOX_CARDS.success,
          couponCode: plan.coupon ? 'WELCOME10' : null,
        });
        outcome.paid++;
      } catch {
        outcome.declined++; // a declined demo card: the order is FAILED, as intended
      }
    };
    const parallel = 8;
    for (let i = 0; i < plans.length; i += parallel) {
      await Promise.all(plans.slice(i, i + parallel).map(buy));
      const done = Math.min(i + parallel, plans.length);
      if (done % 200 === 0 || done === plans.length)
        log(`seed orders: ${done}/${plans.length} orders (${outcome.paid} paid, ${outcome.declined} declined)`);
    }
    return outcome;
  } finally {
    await db.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refuseInProduction('the payment demo orders seed');
  const url = process.env.PAYMENT_DATABASE_URL ?? 'postgres://cg_payment:cg_payment_dev@127.0.0.1:5432/coursegraph';
  const learners = (process.env.SEED_LEARNER_IDS ?? '').split(',').filter(Boolean);
  await seedOrders(
    url,
    learners,
    Number(process.env.SEED_EXPECTED_COURSES ?? 1),
    Number(process.env.SEED_BUYER_SHARE ?? 0.35),
  );
}
