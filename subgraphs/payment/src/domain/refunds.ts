/**
 * Refunds, full or partial, by an admin or as the saga's compensation for a rejected enrollment.
 * One transaction per refund holds the order's row lock across the provider call, so refunds of one
 * order run one at a time and never exceed what was paid. The provider key is derived from the
 * order's refunded total and the amount, so retrying a refund whose commit failed reuses the key
 * and the provider does not pay out twice.
 */
import { appError, badInput, conflict, ErrorCode, isUuid, newId, notFound, type Logger } from '@coursegraph/service-kit';
import type { Order, PrismaClient, Refund } from '../generated/prisma/client.js';
import { PROVIDER_TRANSACTION, type Tx } from '../data/db.js';
import { lockOrder } from '../data/orders.js';
import { ProviderRefusedError, ProviderUnavailableError, type PaymentProvider } from '../providers/provider.js';
import { assertTransition, REFUNDABLE_STATUSES, statusAfterRefund } from './order-state.js';
import { postLedger, refundPostings } from './ledger.js';
import { refundIssued } from './events.js';

export interface RefundRequest {
  orderId: string;
  /** Minor units; null refunds everything left. */
  amount: number | null;
  reason: string;
  /** Admin user id, or "system:<cause>". */
  requestedBy: string;
  traceparent?: string | null;
}

export interface RefundOutcome {
  refund: Refund;
  order: Order;
}

export const refundKey = (order: Order, amountMinor: number) => `refund_${order.id}_${order.refundedMinor}_${amountMinor}`;

/** What a refund needs besides the transaction. */
export interface RefundDeps {
  provider: PaymentProvider;
  logger: Logger;
}

export class Refunds {
  constructor(private readonly deps: RefundDeps & { db: PrismaClient }) {}

  /** An admin's refund: validated before anything is written. */
  async refund(request: RefundRequest): Promise<RefundOutcome> {
    if (!isUuid(request.orderId)) throw badInput('orderId is not an order id.', 'orderId');
    if (request.amount !== null && (!Number.isInteger(request.amount) || request.amount < 1)) {
      throw badInput('amount must be a positive number of minor units (omit it to refund everything left).', 'amount');
    }
    const reason = request.reason.trim();
    if (reason === '' || reason.length > 500) throw badInput('Give a reason of 1 to 500 characters.', 'reason');
    return this.deps.db.$transaction((tx) => refundInTx(tx, { ...request, reason }, this.deps), PROVIDER_TRANSACTION);
  }
}

/** The refund itself, inside the caller's transaction (the consumer's, for compensations). */
export async function refundInTx(tx: Tx, request: RefundRequest, deps: RefundDeps): Promise<RefundOutcome> {
  const order = await lockOrder(tx, request.orderId);
  if (!order) throw notFound('No order with this id.');
  if (!REFUNDABLE_STATUSES.includes(order.status)) throw conflict(`Only a paid order can be refunded; this one is ${order.status}.`);
  const remaining = order.totalMinor - order.refundedMinor;
  if (request.amount !== null && request.amount > remaining) {
    throw badInput(`The refund exceeds what is left to refund (${remaining} ${order.currency} minor units).`, 'amount');
  }
  const amountMinor = request.amount ?? remaining;
  const status = statusAfterRefund(order.totalMinor, order.refundedMinor + amountMinor);
  assertTransition(order.status, status);

  const providerKey = refundKey(order, amountMinor);
  // A zero-total order (a 100% coupon) was never charged: its full refund moves no money.
  const providerRefundId = amountMinor > 0 ? await refundAtProvider(tx, order, amountMinor, providerKey, deps) : null;
  const refund = await tx.refund.create({
    data: {
      id: newId(),
      orderId: order.id,
      userId: order.userId,
      amountMinor,
      currency: order.currency,
      reason: request.reason,
      requestedBy: request.requestedBy,
      providerKey,
      providerRefundId,
    },
  });
  const updated = await tx.order.update({ where: { id: order.id }, data: { status, refundedMinor: { increment: amountMinor } } });
  if (amountMinor > 0) await postLedger(tx, 'REFUND', order, refundPostings(amountMinor), refund.id);
  await refundIssued(tx, order, refund, status === 'REFUNDED', request.traceparent ?? null);
  return { refund, order: updated };
}

async function refundAtProvider(tx: Tx, order: Order, amountMinor: number, idempotencyKey: string, deps: RefundDeps): Promise<string> {
  const payment = await tx.payment.findFirst({ where: { orderId: order.id, status: 'SUCCEEDED' } });
  if (!payment?.providerPaymentId) throw new Error(`paid order ${order.id} has no successful payment`);
  try {
    const { providerRefundId } = await deps.provider.refund({ providerPaymentId: payment.providerPaymentId, amount: amountMinor, idempotencyKey });
    return providerRefundId;
  } catch (err) {
    if (err instanceof ProviderUnavailableError) {
      deps.logger.warn({ err, orderId: order.id }, 'payment provider unavailable; refund not issued');
      throw appError(ErrorCode.PAYMENT_DECLINED, 'The payment provider could not be reached; nothing was refunded. Try again.', {
        reason: 'PROVIDER_UNAVAILABLE',
        orderId: order.id,
      });
    }
    if (err instanceof ProviderRefusedError) throw conflict(`The payment provider refused the refund (${err.code}).`);
    throw err;
  }
}
