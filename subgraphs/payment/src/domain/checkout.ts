/**
 * Checkout: one order per course purchase, one charge per idempotency key, and no outcome guessed.
 *
 *   1. The order is created PENDING under (user, idempotency key), taking a coupon use, together
 *      with its CHARGE attempt (state REQUESTED, provider key order_<orderId>), in one transaction
 *      that commits before the provider is called. A partial unique index allows one active order
 *      per user and course.
 *   2. The provider is called outside any transaction.
 *   3. Its answer is applied by domain/charges.ts (PAID or FAILED, payment row, ledger, outbox
 *      event), guarded by the order still being PENDING.
 *
 * No answer (a timeout, a 5xx, a network error, a 409 "in progress"): the order stays PENDING and
 * is returned as it is; nothing is failed on a guess. The same key again sends the charge again
 * under the same provider key (the provider answers with its first outcome and never charges twice)
 * while within the provider's idempotency window, and otherwise looks the charge up. The
 * reconciler (domain/reconciler.ts) looks up charges still pending after PAYMENT_RECONCILE_AFTER_MS;
 * only a provider that has no record of the charge makes the order FAILED (PROVIDER_UNAVAILABLE).
 */
import { createHash } from 'node:crypto';
import {
  appError,
  badInput,
  conflict,
  ErrorCode,
  isUuid,
  newId,
  notFound,
  type Logger,
  type Viewer,
  isUniqueViolation,
} from '@coursegraph/service-kit';
import type { Order, PrismaClient } from '../generated/prisma/client.js';
import { findCoursePrice } from '../data/course-prices.js';
import { findActiveOrder, findOrderByKey } from '../data/orders.js';
import { findChargeAttempt } from '../data/attempts.js';
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  type FailureReason,
  type PaymentProvider,
} from '../providers/provider.js';
import { discountFor, findCoupon, invalidCoupon, normaliseCouponCode, reserveCoupon } from './coupons.js';
import { applyChargeOutcome, chargeKey, type ChargeOutcome } from './charges.js';

export { chargeKey };

/** How long after the first send the same provider key may be sent again (Stripe keeps keys 24 h). */
const RESEND_WINDOW_MS = 60 * 60 * 1000;

export interface CheckoutRequest {
  courseId: string;
  idempotencyKey: string;
  paymentMethod: string;
  couponCode?: string | null;
}

export interface CheckoutOutcome {
  order: Order;
  /** The key was seen before: this is the stored outcome, nothing was charged now. */
  replayed: boolean;
}

const KEY = /^[\x21-\x7e]{8,255}$/;
const DECLINE_MESSAGES: Record<FailureReason, string> = {
  DECLINED: 'Your card was declined. Try another payment method with a new idempotency key.',
  INSUFFICIENT_FUNDS: 'Your card has insufficient funds. Try another payment method with a new idempotency key.',
  PROVIDER_UNAVAILABLE:
    'The payment provider has no record of this payment, so nothing was charged and the order failed. Try again with a new idempotency key.',
};

/** The error a FAILED order answers with, now and on every replay of its key. */
export function declinedError(order: Order) {
  const reason = (order.failureReason ?? 'DECLINED') as FailureReason;
  return appError(ErrorCode.PAYMENT_DECLINED, DECLINE_MESSAGES[reason] ?? DECLINE_MESSAGES.DECLINED, {
    reason,
    orderId: order.id,
  });
}

interface ValidRequest {
  courseId: string;
  idempotencyKey: string;
  paymentMethod: string;
  couponCode: string | null;
  requestHash: string;
}

export interface CheckoutDeps {
  db: PrismaClient;
  provider: PaymentProvider;
  logger: Logger;
  /** PAYMENT_RECONCILE_AFTER_MS: when the reconciler may first look a pending charge up. Default 120 000. */
  reconcileAfterMs?: number;
}

export class Checkout {
  constructor(private readonly deps: CheckoutDeps) {}

  async checkout(viewer: Viewer, input: CheckoutRequest, traceparent: string | null = null): Promise<CheckoutOutcome> {
    const request = this.validate(input);
    const { db } = this.deps;
    const existing = await findOrderByKey(db, viewer.userId, request.idempotencyKey);
    if (existing) return this.replay(existing, request, traceparent);

    const price = await findCoursePrice(db, request.courseId);
    if (!price) throw notFound('No course with this id is for sale.');
    if (price.status !== 'PUBLISHED') throw badInput('This course is archived and no longer sold.', 'courseId');
    if (price.priceMinor === 0)
      throw badInput('This course is free: free courses need no checkout; enrol directly.', 'courseId');
    // The active order may be this key's own, made by a concurrent request since the look-up above.
    const active = await findActiveOrder(db, viewer.userId, request.courseId);
    if (active?.idempotencyKey === request.idempotencyKey) return this.replay(active, request, traceparent);
    // Judged on the order just read: reading again could find this key's own order, committed since.
    if (active) refuseSecondOrder(active);
    const coupon = request.couponCode ? await findCoupon(db, request.couponCode) : null;
    const discountMinor = coupon ? discountFor(coupon, request.courseId, price.priceMinor, price.currency) : 0;

    let order: Order;
    try {
      order = await db.$transaction(async (tx) => {
        if (coupon) await reserveCoupon(tx, coupon, viewer.userId);
        const created = await tx.order.create({
          data: {
            id: newId(),
            userId: viewer.userId,
            courseId: request.courseId,
            idempotencyKey: request.idempotencyKey,
            requestHash: request.requestHash,
            status: 'PENDING',
            currency: price.currency,
            subtotalMinor: price.priceMinor,
            discountMinor,
            totalMinor: price.priceMinor - discountMinor,
            couponId: coupon?.id ?? null,
            couponCode: coupon?.code ?? null,
          },
        });
        // The attempt commits with the order, before the provider is called.
        if (created.totalMinor > 0) {
          await tx.providerAttempt.create({
            data: {
              id: newId(),
              kind: 'CHARGE',
              orderId: created.id,
              userId: created.userId,
              provider: this.deps.provider.name,
              providerKey: chargeKey(created.id),
              amountMinor: created.totalMinor,
              currency: created.currency,
              state: 'REQUESTED',
              tries: 1,
              nextAttemptAt: new Date(Date.now() + (this.deps.reconcileAfterMs ?? 120_000)),
              traceparent,
            },
          });
        }
        return created;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Lost a race: either the same key (replay it) or another order for the course (refuse).
      const same = await findOrderByKey(db, viewer.userId, request.idempotencyKey);
      if (same) return this.replay(same, request, traceparent);
      const other = await findActiveOrder(db, viewer.userId, request.courseId);
      if (other) refuseSecondOrder(other);
      throw conflict('You already have an order for this course.', 'courseId');
    }
    return this.charge(order, request.paymentMethod, price.title, false, traceparent);
  }

  private validate(input: CheckoutRequest): ValidRequest {
    if (!isUuid(input.courseId)) throw badInput('courseId is not a course id.', 'courseId');
    if (!KEY.test(input.idempotencyKey))
      throw badInput('idempotencyKey must be 8 to 255 printable characters without spaces.', 'idempotencyKey');
    const paymentMethod = input.paymentMethod.trim();
    if (paymentMethod === '' || paymentMethod.length > 255)
      throw badInput('paymentMethod must be 1 to 255 characters.', 'paymentMethod');
    const problem = this.deps.provider.checkPaymentMethod(paymentMethod);
    if (problem) throw badInput(problem, 'paymentMethod');
    const couponCode = input.couponCode?.trim() ? normaliseCouponCode(input.couponCode) : null;
    if (couponCode !== null && couponCode.length > 64) throw invalidCoupon();
    const courseId = input.courseId.toLowerCase();
    // What the key stands for; the payment method is hashed, never stored.
    const requestHash = createHash('sha256')
      .update(JSON.stringify([courseId, couponCode ?? '', paymentMethod]))
      .digest('hex');
    return { courseId, idempotencyKey: input.idempotencyKey, paymentMethod, couponCode, requestHash };
  }

  private async replay(order: Order, request: ValidRequest, traceparent: string | null): Promise<CheckoutOutcome> {
    if (order.requestHash !== request.requestHash) {
      throw conflict(
        'This idempotency key was already used for a different checkout (course, coupon or payment method); use a new key.',
        'idempotencyKey',
      );
    }
    if (order.status === 'PENDING') {
      const price = await findCoursePrice(this.deps.db, order.courseId);
      return this.charge(order, request.paymentMethod, price?.title ?? order.courseId, true, traceparent);
    }
    if (order.status === 'FAILED') throw declinedError(order);
    return { order, replayed: true };
  }

  /**
   * Steps 2 and 3. A pending order of this key is charged again under the same provider key while
   * the provider still de-duplicates it, else looked up; an unknown outcome returns the order PENDING.
   */
  private async charge(
    order: Order,
    paymentMethod: string,
    title: string,
    replayed: boolean,
    traceparent: string | null,
  ): Promise<CheckoutOutcome> {
    const { db, provider, logger } = this.deps;
    let outcome: ChargeOutcome | null = { status: 'free' };
    if (order.totalMinor > 0) {
      const attempt = await findChargeAttempt(db, order.id);
      const resend = !attempt || Date.now() - attempt.createdAt.getTime() < RESEND_WINDOW_MS;
      try {
        if (resend) {
          const result = await provider.charge({
            amount: order.totalMinor,
            currency: order.currency,
            paymentMethod,
            idempotencyKey: chargeKey(order.id),
            description: `Coursegraph: ${title}`.slice(0, 200),
            metadata: { order_id: order.id, user_id: order.userId, course_id: order.courseId },
          });
          outcome =
            result.status === 'succeeded'
              ? result
              : { status: 'declined', reason: result.reason, providerPaymentId: result.providerPaymentId };
        } else {
          const found = await provider.lookupCharge({
            orderId: order.id,
            idempotencyKey: chargeKey(order.id),
            providerPaymentId: attempt?.providerRef ?? null,
          });
          outcome = found.status === 'succeeded' || found.status === 'declined' ? found : null;
        }
      } catch (err) {
        if (!(err instanceof ProviderUnavailableError || err instanceof ProviderRefusedError)) throw err;
        // The charge may or may not have been made: keep the order PENDING; a look-up will tell.
        logger.warn(
          { err: err.message, orderId: order.id },
          'payment provider answer unknown; the order stays PENDING',
        );
        await db.providerAttempt.updateMany({
          where: { orderId: order.id, kind: 'CHARGE', state: 'REQUESTED' },
          data: { lastError: err.message.slice(0, 500) },
        });
        outcome = null;
      }
    }
    const stored = outcome
      ? (await applyChargeOutcome(db, provider.name, order.id, outcome, traceparent)).order
      : await db.order.findUniqueOrThrow({ where: { id: order.id } });
    if (stored.status === 'FAILED') throw declinedError(stored);
    return { order: stored, replayed };
  }
}

/** Refuses a second active order for one course (another idempotency key's). */
function refuseSecondOrder(active: Order): never {
  const message =
    active.status === 'PENDING'
      ? 'You already have an order for this course (its payment is in progress).'
      : 'You already have an order for this course.';
  throw appError(ErrorCode.CONFLICT, message, { field: 'courseId', orderId: active.id });
}
