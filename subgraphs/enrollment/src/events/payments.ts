/** The purchase saga's enrollment side: payment events grant or revoke paid access. */
import { PaymentEvents } from '@coursegraph/contracts';
import { on, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { grantPaidAccess, revokeRefundedAccess } from '../domain/enrollments.js';

export const paymentHandlers = [
  on(PaymentEvents.succeeded, async (tx: Tx, e: ReceivedEvent<typeof PaymentEvents.succeeded>) => {
    const { orderId, userId, courseId } = e.payload;
    await grantPaidAccess(tx, { orderId, userId, courseId }, e.traceparent);
  }),
  on(PaymentEvents.refundIssued, async (tx: Tx, e: ReceivedEvent<typeof PaymentEvents.refundIssued>) => {
    if (e.payload.full)
      await revokeRefundedAccess(tx, { orderId: e.payload.orderId, userId: e.payload.userId }, e.traceparent);
  }),
];
