/**
 * What the provider said about an order's charge, applied once. Checkout's own call, a replay of
 * its key, the reconciler's look-up and the provider's webhook all end here; each applies in one
 * transaction that locks the order and then its CHARGE attempt, and acts only on a state that is
 * still open, so of any number of racing finishers exactly one writes, and payment.payment.succeeded
 * is written once per PAID order.
 *
 * A success reported for an order that already FAILED (a late webhook or look-up after the order
 * was failed because the provider had no record of it) is never left as money taken: the charge is
 * recorded (payment row, ledger) and given back by a REFUND attempt that the reconciler sends until
 * the provider confirms. The order stays FAILED (FAILED is final) and no access is granted; the
 * learner may have bought the course again with a new order meanwhile, which this leaves alone.
 */
import { newId } from '@coursegraph/service-kit';
import type { Order } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from '../data/db.js';
import { lockOrder } from '../data/orders.js';
import { findChargeAttempt, lockAttempt } from '../data/attempts.js';
import type { DeclineReason, FailureReason } from '../providers/provider.js';
import { releaseCoupon } from './coupons.js';
import { chargePostings, postLedger } from './ledger.js';
import { paymentFailed, paymentSucceeded } from './events.js';
import { createRefundAttempt } from './refunds.js';

export type ChargeOutcome =
  | { status: 'succeeded'; providerPaymentId: string }
  | { status: 'declined'; reason: DeclineReason | FailureReason; providerPaymentId: string | null }
  /** A zero total: nothing to charge. */
  | { status: 'free' };

export interface AppliedCharge {
  order: Order;
  /** True when this call found money taken for an order that had failed, and queued its refund. */
  lateCapture: boolean;
}

/** The key sent to the provider for an order's charge. */
export const chargeKey = (orderId: string) => `order_${orderId}`;

/** Applies an outcome in its own transaction. */
export function applyChargeOutcome(
  db: PrismaClient,
  providerName: string,
  orderId: string,
  outcome: ChargeOutcome,
  traceparent: string | null,
): Promise<AppliedCharge> {
  return db.$transaction((tx) => applyChargeOutcomeInTx(tx, providerName, orderId, outcome, traceparent));
}

/** Applies an outcome inside the caller's transaction (the webhook's, which also records the event id). */
export async function applyChargeOutcomeInTx(
  tx: Tx,
  providerName: string,
  orderId: string,
  outcome: ChargeOutcome,
  traceparent: string | null,
): Promise<AppliedCharge> {
  const order = await lockOrder(tx, orderId);
  if (!order) throw new Error(`no order ${orderId}`);
  const head = await findChargeAttempt(tx, orderId);
  const attempt = head ? await lockAttempt(tx, head.id) : null;
  const now = new Date();

  if (outcome.status === 'free' || outcome.status === 'succeeded') {
    const providerPaymentId = outcome.status === 'succeeded' ? outcome.providerPaymentId : null;
    if (order.status === 'PENDING') {
      if (attempt)
        await tx.providerAttempt.update({
          where: { id: attempt.id },
          data: { state: 'SUCCEEDED', providerRef: providerPaymentId, resolvedAt: now, lastError: null },
        });
      await tx.order.update({ where: { id: order.id }, data: { status: 'PAID', paidAt: now } });
      const payment =
        providerPaymentId === null
          ? null
          : await upsertPayment(tx, order, providerName, providerPaymentId, 'SUCCEEDED', null);
      await postLedger(tx, 'CHARGE', order, chargePostings(order));
      await paymentSucceeded(tx, order, payment, now, traceparent);
      return { order: await tx.order.findUniqueOrThrow({ where: { id: order.id } }), lateCapture: false };
    }
    if (order.status === 'FAILED' && attempt && attempt.state !== 'SUCCEEDED' && providerPaymentId !== null) {
      await tx.providerAttempt.update({
        where: { id: attempt.id },
        data: { state: 'SUCCEEDED', providerRef: providerPaymentId, resolvedAt: now },
      });
      await upsertPayment(tx, order, providerName, providerPaymentId, 'SUCCEEDED', null);
      await postLedger(tx, 'CHARGE', order, chargePostings(order));
      await createRefundAttempt(tx, order, providerName, order.totalMinor, {
        reason: 'Charge captured after the order had failed; given back automatically.',
        requestedBy: 'system:late-capture',
        traceparent,
        tries: 0,
        nextAttemptAt: now,
      });
      return { order, lateCapture: true };
    }
    return { order, lateCapture: false };
  }

  // Declined (or, from a look-up, unknown to the provider): only a PENDING order can fail.
  if (order.status !== 'PENDING') return { order, lateCapture: false };
  const reason = outcome.reason;
  if (attempt)
    await tx.providerAttempt.update({
      where: { id: attempt.id },
      data: { state: 'FAILED', failureReason: reason, providerRef: outcome.providerPaymentId, resolvedAt: now },
    });
  await tx.order.update({ where: { id: order.id }, data: { status: 'FAILED', failureReason: reason, failedAt: now } });
  await upsertPayment(tx, order, providerName, outcome.providerPaymentId, 'FAILED', reason);
  if (order.couponId) await releaseCoupon(tx, order.couponId, order.userId);
  await paymentFailed(tx, order, reason, now, traceparent);
  return { order: await tx.order.findUniqueOrThrow({ where: { id: order.id } }), lateCapture: false };
}

/** The order's one payment row (key order_<id>): created, or corrected when a late capture turns a failure into a charge. */
async function upsertPayment(
  tx: Tx,
  order: Order,
  provider: string,
  providerPaymentId: string | null,
  status: 'SUCCEEDED' | 'FAILED',
  failureReason: string | null,
) {
  const providerKey = chargeKey(order.id);
  const data = { provider, providerPaymentId, status, failureReason };
  const existing = await tx.payment.findUnique({
    where: { userId_providerKey: { userId: order.userId, providerKey } },
  });
  if (existing) return tx.payment.update({ where: { id: existing.id }, data });
  return tx.payment.create({
    data: {
      id: newId(),
      orderId: order.id,
      userId: order.userId,
      providerKey,
      amountMinor: order.totalMinor,
      currency: order.currency,
      ...data,
    },
  });
}
