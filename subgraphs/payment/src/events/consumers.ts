/**
 * What payment consumes (the `consumers` record follows scripts/replay.mjs's convention):
 *   payment-courses    (stream COURSE):     the course_prices projection, from published/updated/archived
 *   payment-enrollment (stream ENROLLMENT): saga compensation, a full refund when enrollment rejects a paid order
 *                                           (recorded as a REFUND attempt; the reconciler sends it, so a provider
 *                                           outage delays it but never fails the handler into dead-lettering)
 * Handlers are idempotent on their own (newer-version upserts; refunds only of refundable orders), and
 * the backbone records each event in processed_events, so a redelivery changes nothing.
 */
import {
  createLogger,
  isUuid,
  on,
  prismaTransaction,
  readConfig,
  startConsumers,
  type EventHandler,
  type Logger,
  type ReceivedEvent,
  type Transaction,
} from '@coursegraph/service-kit';
import { CourseEvents, EnrollmentEvents } from '@coursegraph/contracts';
import { paymentSettings } from '../config.js';
import { createDb, type PrismaClient, type Tx } from '../data/db.js';
import { archivePrice, upsertPublishedPrice } from '../data/course-prices.js';
import { lockOrder } from '../data/orders.js';
import { CURRENCY, MAX_AMOUNT_MINOR } from '../domain/coupons.js';
import { createRefundAttempt, recordRefundInTx, refundableLeft } from '../domain/refunds.js';

type SnapshotEvent = ReceivedEvent<typeof CourseEvents.published> | ReceivedEvent<typeof CourseEvents.updated>;

const eventTime = (event: ReceivedEvent, fallback?: string) => {
  const ms = Date.parse(fallback || event.time);
  return new Date(Number.isNaN(ms) ? Date.now() : ms);
};

/** course.course.published / updated: upsert the price if this version is newer than the stored one. */
export async function applyCourseSnapshot(tx: Tx, event: SnapshotEvent, logger?: Logger): Promise<void> {
  const course = event.payload.course;
  const priceMinor = Number(course?.price?.amountMinor ?? 0n);
  const currency = (course?.price?.currency ?? '').toUpperCase();
  if (
    !course ||
    !isUuid(course.courseId) ||
    priceMinor < 0 ||
    priceMinor > MAX_AMOUNT_MINOR ||
    (priceMinor > 0 && !CURRENCY.test(currency))
  ) {
    // A malformed event would fail on every delivery; skip it (logged) instead.
    logger?.error({ eventId: event.id, type: event.type }, 'course event with an unusable course snapshot; skipped');
    return;
  }
  await upsertPublishedPrice(tx, {
    courseId: course.courseId,
    version: course.version,
    title: course.title,
    priceMinor,
    currency,
    eventTime: eventTime(event),
  });
}

/** course.course.archived: no longer sold (orders already made are untouched). */
export async function applyCourseArchived(
  tx: Tx,
  event: ReceivedEvent<typeof CourseEvents.archived>,
  logger?: Logger,
): Promise<void> {
  if (!isUuid(event.payload.courseId)) {
    logger?.error({ eventId: event.id }, 'course.archived without a course id; skipped');
    return;
  }
  await archivePrice(tx, event.payload.courseId, eventTime(event, event.payload.archivedAt));
}

/** Clears the projection (replay rebuilds it from the COURSE stream). */
export async function resetCoursePrices(tx: Tx): Promise<void> {
  await tx.$executeRaw`delete from course_prices`;
}

/** What the compensation needs: no provider, since it only records the refund to make. */
export interface CompensationDeps {
  /** Stored on the attempt (PAYMENT_PROVIDER). */
  providerName: string;
  logger: Logger;
  /** Asks the reconciler for a pass soon (after this transaction commits). */
  kick?: () => void;
}

/**
 * enrollment.enrollment.rejected: the learner paid but cannot be enrolled; refund what is left of
 * the order, with the reason recorded. The handler only commits a REFUND attempt (REQUESTED, due
 * now); the reconciler calls the provider outside this transaction and retries with capped
 * backoff while the provider is down, so the event is acked and never dead-lettered for it.
 */
export async function compensateRejectedEnrollment(
  tx: Tx,
  event: ReceivedEvent<typeof EnrollmentEvents.rejected>,
  deps: CompensationDeps,
): Promise<void> {
  const { orderId, reason } = event.payload;
  const order = isUuid(orderId) ? await lockOrder(tx, orderId) : null;
  if (!order) {
    deps.logger.error({ eventId: event.id, orderId }, 'enrollment.rejected for an unknown order; skipped');
    return;
  }
  // Already refunded in full, or never paid: nothing to give back.
  if (order.status === 'REFUNDED' || order.status === 'FAILED') return;
  // Rejection follows payment, so PENDING cannot last: fail, and the backbone redelivers later.
  if (order.status === 'PENDING') throw new Error(`order ${order.id} is still PENDING; compensation retried later`);
  const info = {
    reason: `Enrollment rejected: ${reason || 'no reason given'}`.slice(0, 500),
    requestedBy: 'system:enrollment-rejected',
    traceparent: event.traceparent || null,
  };
  // A zero-total order (a 100% coupon) was never charged: it is refunded here, moving no money.
  if (order.totalMinor === 0) {
    await recordRefundInTx(tx, order, 0, { ...info, providerKey: `refund_${event.id}`, providerRefundId: null });
    return;
  }
  const left = await refundableLeft(tx, order);
  if (left <= 0) return;
  await createRefundAttempt(tx, order, deps.providerName, left, { ...info, tries: 0, nextAttemptAt: new Date() });
  deps.kick?.();
}

export interface ConsumerSpec {
  stream: string;
  handlers: EventHandler<Tx>[];
  /** Clears what the handlers build; null: not a projection, never replayed. */
  reset: ((tx: Tx) => Promise<void>) | null;
}

/** Payment's consumers, by durable name. */
export function paymentConsumers(deps: () => CompensationDeps): Record<string, ConsumerSpec> {
  return {
    'payment-courses': {
      stream: 'COURSE',
      handlers: [
        on(CourseEvents.published, (tx: Tx, event) => applyCourseSnapshot(tx, event, deps().logger)),
        on(CourseEvents.updated, (tx: Tx, event) => applyCourseSnapshot(tx, event, deps().logger)),
        on(CourseEvents.archived, (tx: Tx, event) => applyCourseArchived(tx, event, deps().logger)),
      ],
      reset: resetCoursePrices,
    },
    // A saga step that leads to a refund at the payment provider: replaying it would be wrong.
    'payment-enrollment': {
      stream: 'ENROLLMENT',
      handlers: [on(EnrollmentEvents.rejected, (tx: Tx, event) => compensateRejectedEnrollment(tx, event, deps()))],
      reset: null,
    },
  };
}

let fromEnvironment: CompensationDeps | undefined;
/** For scripts/replay.mjs: the consumers with the provider name the environment configures, made on first use. */
export const consumers = paymentConsumers(() => {
  if (!fromEnvironment) {
    const config = readConfig(paymentSettings);
    fromEnvironment = { providerName: config.paymentProvider, logger: createLogger('payment', config.logLevel) };
  }
  return fromEnvironment;
});

/** For scripts/replay.mjs: transactions as payment's own role. */
export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return prismaTransaction<Tx>(createDb(databaseUrl, 2));
}

/** Starts every consumer of `paymentConsumers`; stop() ends them all. */
export function startPaymentConsumers(options: {
  db: PrismaClient;
  deps: CompensationDeps;
  natsUrl: string;
  logger: Logger;
}) {
  return startConsumers({
    context: 'payment',
    consumers: paymentConsumers(() => options.deps),
    natsUrl: options.natsUrl,
    // No handler calls the provider: plain transactions.
    transaction: prismaTransaction<Tx>(options.db),
    logger: options.logger,
  });
}
