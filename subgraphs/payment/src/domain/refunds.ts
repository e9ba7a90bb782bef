/**
 * Refunds, full or partial: by an admin, as the saga's compensation for a rejected enrollment, or
 * to give back a charge captured after its order had failed. The provider is never called inside a
 * database transaction:
 *
 *   1. Under the order's row lock, the amount is checked against what is left (refunds already
 *      made and refunds still in flight both count) and a REFUND attempt is committed REQUESTED,
 *      with the provider key refund_<attemptId>.
 *   2. The provider is called (after a look-up first when an earlier try may have reached it).
 *   3. Success: one transaction, guarded by "the attempt is still REQUESTED", writes the Refund,
 *      the order's new state, the ledger and payment.refund.issued. A refusal marks the attempt
 *      FAILED. No answer: the attempt stays REQUESTED and the reconciler tries again with capped
 *      exponential backoff until the provider answers; a compensation is never dead-lettered.
 */
import {
  appError,
  badInput,
  conflict,
  ErrorCode,
  isUuid,
  newId,
  notFound,
  type Logger,
} from '@coursegraph/service-kit';
import type { Order, PrismaClient, Refund } from '../generated/prisma/client.js';
import type { Tx } from '../data/db.js';
import { lockOrder } from '../data/orders.js';
import { backoffMs, lockAttempt, refundsInFlight, scheduleRetry, type ProviderAttempt } from '../data/attempts.js';
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

export const refundKey = (attemptId: string) => `refund_${attemptId}`;

/** What sending a refund needs. */
export interface RefundDeps {
  db: PrismaClient;
  provider: PaymentProvider;
  logger: Logger;
  /** Backoff of retries (PAYMENT_RETRY_BASE_MS, PAYMENT_RETRY_MAX_MS). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long the request that created an attempt holds it before the reconciler may take it over. */
  leaseMs: number;
}

/** How a send ended: done, refused by the provider, or waiting for a retry. */
export type RefundSendResult =
  | { status: 'succeeded'; outcome: RefundOutcome }
  | { status: 'refused'; code: string }
  | { status: 'queued'; error: string };

/** Money still refundable on an order: its total less refunds made and refunds in flight. */
export async function refundableLeft(tx: Tx, order: Order): Promise<number> {
  return order.totalMinor - order.refundedMinor - (await refundsInFlight(tx, order.id));
}

/** A REFUND attempt, REQUESTED, inside the caller's transaction (the order's row is locked). */
export async function createRefundAttempt(
  tx: Tx,
  order: Order,
  provider: string,
  amountMinor: number,
  info: { reason: string; requestedBy: string; traceparent: string | null; tries: number; nextAttemptAt: Date },
): Promise<ProviderAttempt> {
  const id = newId();
  return tx.providerAttempt.create({
    data: {
      id,
      kind: 'REFUND',
      orderId: order.id,
      userId: order.userId,
      provider,
      providerKey: refundKey(id),
      amountMinor,
      currency: order.currency,
      state: 'REQUESTED',
      reason: info.reason,
      requestedBy: info.requestedBy,
      tries: info.tries,
      nextAttemptAt: info.nextAttemptAt,
      traceparent: info.traceparent,
    },
  });
}

/**
 * Writes a refund the provider has made (ours, or one made in its dashboard or by a dispute): the
 * Refund row, the order's state, the ledger and the event. The order's row must be locked. An
 * order that FAILED (a late capture given back) keeps its state and announces nothing: it never
 * granted access.
 */
export async function recordRefundInTx(
  tx: Tx,
  order: Order,
  amountMinor: number,
  info: {
    reason: string;
    requestedBy: string;
    providerKey: string;
    providerRefundId: string | null;
    traceparent: string | null;
  },
): Promise<RefundOutcome> {
  const failedOrder = order.status === 'FAILED';
  const status = failedOrder ? order.status : statusAfterRefund(order.totalMinor, order.refundedMinor + amountMinor);
  if (!failedOrder) assertTransition(order.status, status);
  const refund = await tx.refund.create({
    data: {
      id: newId(),
      orderId: order.id,
      userId: order.userId,
      amountMinor,
      currency: order.currency,
      reason: info.reason,
      requestedBy: info.requestedBy,
      providerKey: info.providerKey,
      providerRefundId: info.providerRefundId,
    },
  });
  const updated = await tx.order.update({
    where: { id: order.id },
    data: { status, refundedMinor: { increment: amountMinor } },
  });
  if (amountMinor > 0) await postLedger(tx, 'REFUND', order, refundPostings(amountMinor), refund.id);
  if (!failedOrder) await refundIssued(tx, order, refund, status === 'REFUNDED', info.traceparent);
  return { refund, order: updated };
}

export class Refunds {
  constructor(private readonly deps: RefundDeps) {}

  /** An admin's refund: validated before anything is written; the provider is called after the attempt commits. */
  async refund(request: RefundRequest): Promise<RefundOutcome> {
    if (!isUuid(request.orderId)) throw badInput('orderId is not an order id.', 'orderId');
    if (request.amount !== null && (!Number.isInteger(request.amount) || request.amount < 1)) {
      throw badInput('amount must be a positive number of minor units (omit it to refund everything left).', 'amount');
    }
    const reason = request.reason.trim();
    if (reason === '' || reason.length > 500) throw badInput('Give a reason of 1 to 500 characters.', 'reason');
    const { db, provider } = this.deps;

    const reserved = await db.$transaction(async (tx) => {
      const order = await lockOrder(tx, request.orderId);
      if (!order) throw notFound('No order with this id.');
      if (!REFUNDABLE_STATUSES.includes(order.status))
        throw conflict(`Only a paid order can be refunded; this one is ${order.status}.`);
      const left = await refundableLeft(tx, order);
      if (request.amount !== null && request.amount > left) {
        throw badInput(`The refund exceeds what is left to refund (${left} ${order.currency} minor units).`, 'amount');
      }
      const amountMinor = request.amount ?? left;
      if (amountMinor <= 0 && order.totalMinor > 0)
        throw conflict('Everything paid for this order is refunded or being refunded.');
      assertTransition(order.status, statusAfterRefund(order.totalMinor, order.refundedMinor + amountMinor));
      // A zero-total order (a 100% coupon) was never charged: its refund moves no money and needs no provider.
      if (amountMinor === 0) {
        return {
          done: await recordRefundInTx(tx, order, 0, {
            reason,
            requestedBy: request.requestedBy,
            providerKey: `refund_${newId()}`,
            providerRefundId: null,
            traceparent: request.traceparent ?? null,
          }),
        };
      }
      const attempt = await createRefundAttempt(tx, order, provider.name, amountMinor, {
        reason,
        requestedBy: request.requestedBy,
        traceparent: request.traceparent ?? null,
        tries: 1,
        nextAttemptAt: new Date(Date.now() + this.deps.leaseMs),
      });
      return { attempt };
    });
    if ('done' in reserved) return reserved.done!;

    const sent = await sendRefund(this.deps, reserved.attempt, false);
    if (sent.status === 'succeeded') return sent.outcome;
    if (sent.status === 'refused') throw conflict(`The payment provider refused the refund (${sent.code}).`);
    throw appError(
      ErrorCode.PAYMENT_DECLINED,
      'The payment provider could not be reached. The refund is recorded and will be retried until the provider confirms it; do not request it again.',
      { reason: 'PROVIDER_UNAVAILABLE', orderId: request.orderId, queued: true },
    );
  }
}

/**
 * Sends (or finishes) one REFUND attempt. With `lookUpFirst` (a retry: an earlier try may have
 * reached the provider) it asks the provider before sending again, so a refund is never paid twice
 * even past the provider's idempotency window.
 */
export async function sendRefund(
  deps: RefundDeps,
  attempt: ProviderAttempt,
  lookUpFirst: boolean,
): Promise<RefundSendResult> {
  const { db, provider, logger } = deps;
  const payment = await db.payment.findFirst({ where: { orderId: attempt.orderId, status: 'SUCCEEDED' } });
  if (!payment?.providerPaymentId) {
    await markRefundFailed(db, attempt, 'the order has no successful payment to refund');
    logger.error(
      { attemptId: attempt.id, orderId: attempt.orderId },
      'refund attempt without a successful payment; marked FAILED',
    );
    return { status: 'refused', code: 'no_payment' };
  }
  try {
    if (lookUpFirst) {
      const found = await provider.lookupRefund({
        providerPaymentId: payment.providerPaymentId,
        idempotencyKey: attempt.providerKey,
        attemptId: attempt.id,
      });
      if (found.status === 'succeeded')
        return { status: 'succeeded', outcome: await applyRefundSuccess(db, attempt.id, found.providerRefundId) };
      if (found.status === 'failed') {
        await markRefundFailed(db, attempt, `the provider reports refund ${found.providerRefundId} failed`);
        return { status: 'refused', code: 'refund_failed' };
      }
      if (found.status === 'processing') {
        await scheduleRetry(
          db,
          attempt.id,
          backoffMs(attempt.tries, deps.retryBaseMs, deps.retryMaxMs),
          `refund ${found.providerRefundId} still processing`,
        );
        return { status: 'queued', error: 'processing' };
      }
    }
    const { providerRefundId } = await provider.refund({
      providerPaymentId: payment.providerPaymentId,
      amount: attempt.amountMinor,
      idempotencyKey: attempt.providerKey,
      metadata: { attempt_id: attempt.id, order_id: attempt.orderId },
    });
    return { status: 'succeeded', outcome: await applyRefundSuccess(db, attempt.id, providerRefundId) };
  } catch (err) {
    if (err instanceof ProviderRefusedError) {
      await markRefundFailed(db, attempt, `${err.code}: ${err.message}`);
      logger.error(
        { attemptId: attempt.id, orderId: attempt.orderId, code: err.code },
        'the provider refused a refund; attempt FAILED',
      );
      return { status: 'refused', code: err.code };
    }
    if (err instanceof ProviderUnavailableError) {
      const delay = backoffMs(attempt.tries, deps.retryBaseMs, deps.retryMaxMs);
      await scheduleRetry(db, attempt.id, delay, err.message);
      logger.warn(
        { attemptId: attempt.id, orderId: attempt.orderId, retryInMs: delay, err: err.message },
        'payment provider unavailable; refund retried later',
      );
      return { status: 'queued', error: err.message };
    }
    throw err;
  }
}

/** Step 3 of a refund, guarded by the attempt's state: of two racing finishers exactly one writes. */
export async function applyRefundSuccess(
  db: PrismaClient,
  attemptId: string,
  providerRefundId: string,
): Promise<RefundOutcome> {
  return db.$transaction(async (tx) => {
    const head = await tx.providerAttempt.findUniqueOrThrow({ where: { id: attemptId } });
    const order = await lockOrder(tx, head.orderId);
    const attempt = await lockAttempt(tx, attemptId);
    if (!order || !attempt) throw new Error(`refund attempt ${attemptId} lost its order`);
    if (attempt.state !== 'REQUESTED') {
      const refund = await tx.refund.findFirstOrThrow({
        where: { userId: attempt.userId, providerKey: attempt.providerKey },
      });
      return { refund, order };
    }
    await tx.providerAttempt.update({
      where: { id: attempt.id },
      data: { state: 'SUCCEEDED', providerRef: providerRefundId, resolvedAt: new Date(), lastError: null },
    });
    return recordRefundInTx(tx, order, attempt.amountMinor, {
      reason: attempt.reason ?? 'refund',
      requestedBy: attempt.requestedBy ?? 'system',
      providerKey: attempt.providerKey,
      providerRefundId,
      traceparent: attempt.traceparent,
    });
  });
}

async function markRefundFailed(db: PrismaClient, attempt: ProviderAttempt, error: string): Promise<void> {
  await db.providerAttempt.updateMany({
    where: { id: attempt.id, state: 'REQUESTED' },
    data: { state: 'FAILED', lastError: error.slice(0, 500), failureReason: 'REFUSED', resolvedAt: new Date() },
  });
}
