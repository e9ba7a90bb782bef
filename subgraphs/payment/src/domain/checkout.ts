/**
 * Checkout: one order per course purchase, one charge per idempotency key.
 *
 *   1. The order is created PENDING under (user, idempotency key) in its own transaction (taking a
 *      coupon use); a partial unique index allows one active order per user and course.
 *   2. The provider is charged with a key derived from the order id (unique across users), so the
 *      provider itself never charges twice for the order.
 *   3. PAID or FAILED, the payment, the ledger and the outbox event commit in one transaction, guarded
 *      by "still PENDING", so of two racing finishers exactly one writes.
 *
 * The same key again returns the stored outcome without charging (a FAILED order repeats its error).
 * A key whose order is still PENDING (a crash, or a concurrent request) resumes step 2: the provider
 * answers the repeated key with its first outcome. A provider network error fails the order
 * (PROVIDER_UNAVAILABLE): the learner retries with a new key, which makes a new order.
 */
import { createHash } from 'node:crypto';
import { appError, badInput, conflict, ErrorCode, isUuid, newId, notFound, type Logger, type Viewer, isUniqueViolation } from '@coursegraph/service-kit';
import type { Order, PrismaClient } from '../generated/prisma/client.js';
import { findCoursePrice } from '../data/course-prices.js';
import { findActiveOrder, findOrderByKey } from '../data/orders.js';
import { ProviderUnavailableError, type ChargeResult, type FailureReason, type PaymentProvider } from '../providers/provider.js';
import { discountFor, findCoupon, normaliseCouponCode, releaseCoupon, reserveCoupon } from './coupons.js';
import { chargePostings, postLedger } from './ledger.js';
import { paymentFailed, paymentSucceeded } from './events.js';

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
  PROVIDER_UNAVAILABLE: 'The payment provider could not be reached, so the order failed. Try again with a new idempotency key.',
};

/** The error a FAILED order answers with, now and on every replay of its key. */
export function declinedError(order: Order) {
  const reason = (order.failureReason ?? 'DECLINED') as FailureReason;
  return appError(ErrorCode.PAYMENT_DECLINED, DECLINE_MESSAGES[reason] ?? DECLINE_MESSAGES.DECLINED, { reason, orderId: order.id });
}

/** The key sent to the provider for an order's charge. */
export const chargeKey = (orderId: string) => `order_${orderId}`;

interface ValidRequest {
  courseId: string;
  idempotencyKey: string;
  paymentMethod: string;
  couponCode: string | null;
  requestHash: string;
}

export class Checkout {
  constructor(private readonly deps: { db: PrismaClient; provider: PaymentProvider; logger: Logger }) {}

  async checkout(viewer: Viewer, input: CheckoutRequest, traceparent: string | null = null): Promise<CheckoutOutcome> {
    const request = this.validate(input);
    const { db } = this.deps;
    const existing = await findOrderByKey(db, viewer.userId, request.idempotencyKey);
    if (existing) return this.replay(existing, request, traceparent);

    const price = await findCoursePrice(db, request.courseId);
    if (!price) throw notFound('No course with this id is for sale.');
    if (price.status !== 'PUBLISHED') throw badInput('This course is archived and no longer sold.', 'courseId');
    if (price.priceMinor === 0) throw badInput('This course is free: free courses need no checkout; enrol directly.', 'courseId');
    await this.refuseSecondOrder(viewer.userId, request.courseId);
    const coupon = request.couponCode ? await findCoupon(db, request.couponCode) : null;
    const discountMinor = coupon ? discountFor(coupon, request.courseId, price.priceMinor, price.currency) : 0;

    let order: Order;
    try {
      order = await db.$transaction(async (tx) => {
        if (coupon) await reserveCoupon(tx, coupon);
        return tx.order.create({
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
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Lost a race: either the same key (replay it) or another order for the course (refuse).
      const same = await findOrderByKey(db, viewer.userId, request.idempotencyKey);
      if (same) return this.replay(same, request, traceparent);
      await this.refuseSecondOrder(viewer.userId, request.courseId);
      throw conflict('You already have an order for this course.', 'courseId');
    }
    return this.charge(order, request.paymentMethod, price.title, false, traceparent);
  }

  private validate(input: CheckoutRequest): ValidRequest {
    if (!isUuid(input.courseId)) throw badInput('courseId is not a course id.', 'courseId');
    if (!KEY.test(input.idempotencyKey)) throw badInput('idempotencyKey must be 8 to 255 printable characters without spaces.', 'idempotencyKey');
    const paymentMethod = input.paymentMethod.trim();
    if (paymentMethod === '' || paymentMethod.length > 255) throw badInput('paymentMethod must be 1 to 255 characters.', 'paymentMethod');
    const problem = this.deps.provider.checkPaymentMethod(paymentMethod);
    if (problem) throw badInput(problem, 'paymentMethod');
    const couponCode = input.couponCode?.trim() ? normaliseCouponCode(input.couponCode) : null;
    if (couponCode !== null && couponCode.length > 64) throw badInput('No coupon has this code.', 'couponCode');
    const courseId = input.courseId.toLowerCase();
    // What the key stands for; the payment method is hashed, never stored.
    const requestHash = createHash('sha256').update(JSON.stringify([courseId, couponCode ?? '', paymentMethod])).digest('hex');
    return { courseId, idempotencyKey: input.idempotencyKey, paymentMethod, couponCode, requestHash };
  }

  private async refuseSecondOrder(userId: string, courseId: string): Promise<void> {
    const active = await findActiveOrder(this.deps.db, userId, courseId);
    if (active) {
      const message = active.status === 'PENDING' ? 'You already have an order for this course (its payment is in progress).' : 'You already have an order for this course.';
      throw appError(ErrorCode.CONFLICT, message, { field: 'courseId', orderId: active.id });
    }
  }

  private async replay(order: Order, request: ValidRequest, traceparent: string | null): Promise<CheckoutOutcome> {
    if (order.requestHash !== request.requestHash) {
      throw conflict('This idempotency key was already used for a different checkout (course, coupon or payment method); use a new key.', 'idempotencyKey');
    }
    if (order.status === 'PENDING') {
      const price = await findCoursePrice(this.deps.db, order.courseId);
      return this.charge(order, request.paymentMethod, price?.title ?? order.courseId, true, traceparent);
    }
    if (order.status === 'FAILED') throw declinedError(order);
    return { order, replayed: true };
  }

  private async charge(order: Order, paymentMethod: string, title: string, replayed: boolean, traceparent: string | null): Promise<CheckoutOutcome> {
    let result: ChargeResult | { status: 'unavailable' } | { status: 'free' } = { status: 'free' };
    if (order.totalMinor > 0) {
      try {
        result = await this.deps.provider.charge({
          amount: order.totalMinor,
          currency: order.currency,
          paymentMethod,
          idempotencyKey: chargeKey(order.id),
          description: `Coursegraph: ${title}`.slice(0, 200),
          metadata: { order_id: order.id, user_id: order.userId, course_id: order.courseId },
        });
      } catch (err) {
        if (!(err instanceof ProviderUnavailableError)) throw err;
        this.deps.logger.warn({ err, orderId: order.id }, 'payment provider unavailable; the order fails');
        result = { status: 'unavailable' };
      }
    }
    const finished = await this.finish(order, result, traceparent);
    // Another request for the same key finished first: answer with what it stored.
    const stored = finished ?? (await this.deps.db.order.findUniqueOrThrow({ where: { id: order.id } }));
    if (stored.status === 'FAILED') throw declinedError(stored);
    return { order: stored, replayed };
  }

  /** Step 3; null when the order was no longer PENDING (someone else finished it). */
  private finish(order: Order, result: ChargeResult | { status: 'unavailable' } | { status: 'free' }, traceparent: string | null): Promise<Order | null> {
    const { db, provider } = this.deps;
    const now = new Date();
    return db.$transaction(async (tx) => {
      if (result.status === 'succeeded' || result.status === 'free') {
        const moved = await tx.order.updateMany({ where: { id: order.id, status: 'PENDING' }, data: { status: 'PAID', paidAt: now } });
        if (moved.count === 0) return null;
        const payment =
          result.status === 'free'
            ? null
            : await tx.payment.create({
                data: {
                  id: newId(),
                  orderId: order.id,
                  userId: order.userId,
                  provider: provider.name,
                  providerKey: chargeKey(order.id),
                  providerPaymentId: result.providerPaymentId,
                  amountMinor: order.totalMinor,
                  currency: order.currency,
                  status: 'SUCCEEDED',
                },
              });
        await postLedger(tx, 'CHARGE', order, chargePostings(order));
        await paymentSucceeded(tx, order, payment, now, traceparent);
      } else {
        const reason: FailureReason = result.status === 'unavailable' ? 'PROVIDER_UNAVAILABLE' : result.reason;
        const moved = await tx.order.updateMany({ where: { id: order.id, status: 'PENDING' }, data: { status: 'FAILED', failureReason: reason, failedAt: now } });
        if (moved.count === 0) return null;
        await tx.payment.create({
          data: {
            id: newId(),
            orderId: order.id,
            userId: order.userId,
            provider: provider.name,
            providerKey: chargeKey(order.id),
            providerPaymentId: result.status === 'declined' ? result.providerPaymentId : null,
            amountMinor: order.totalMinor,
            currency: order.currency,
            status: 'FAILED',
            failureReason: reason,
          },
        });
        if (order.couponId) await releaseCoupon(tx, order.couponId);
        await paymentFailed(tx, order, reason, now, traceparent);
      }
      return tx.order.findUniqueOrThrow({ where: { id: order.id } });
    });
  }
}

