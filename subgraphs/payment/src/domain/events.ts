/** The events payment publishes, written to its outbox inside the caller's transaction. */
import { enqueueEvent } from '@coursegraph/service-kit';
import { PaymentEvents } from '@coursegraph/contracts';
import type { Order, Payment, Refund } from '../generated/prisma/client.js';
import type { Tx } from '../data/db.js';
import type { FailureReason } from '../providers/provider.js';

export const PAYMENT_CONTEXT = 'payment';

const options = (traceparent: string | null) => (traceparent ? { traceparent } : undefined);
const money = (amountMinor: number, currency: string) => ({ amountMinor: BigInt(amountMinor), currency });

export function paymentSucceeded(
  tx: Tx,
  order: Order,
  payment: Payment | null,
  paidAt: Date,
  traceparent: string | null,
) {
  return enqueueEvent(
    tx,
    PAYMENT_CONTEXT,
    PaymentEvents.succeeded,
    {
      orderId: order.id,
      paymentId: payment?.id ?? '',
      userId: order.userId,
      courseId: order.courseId,
      amount: money(order.totalMinor, order.currency),
      paidAt: paidAt.toISOString(),
    },
    options(traceparent),
  );
}

export function paymentFailed(tx: Tx, order: Order, reason: FailureReason, failedAt: Date, traceparent: string | null) {
  return enqueueEvent(
    tx,
    PAYMENT_CONTEXT,
    PaymentEvents.failed,
    { orderId: order.id, userId: order.userId, courseId: order.courseId, reason, failedAt: failedAt.toISOString() },
    options(traceparent),
  );
}

/** `full`: the order is now refunded in full, so enrollment revokes access. */
export function refundIssued(tx: Tx, order: Order, refund: Refund, full: boolean, traceparent: string | null) {
  return enqueueEvent(
    tx,
    PAYMENT_CONTEXT,
    PaymentEvents.refundIssued,
    {
      refundId: refund.id,
      orderId: order.id,
      userId: order.userId,
      courseId: order.courseId,
      amount: money(refund.amountMinor, refund.currency),
      full,
      refundedAt: refund.createdAt.toISOString(),
    },
    options(traceparent),
  );
}
