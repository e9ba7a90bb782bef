/**
 * Asynchronous outcomes the provider reports through its webhook (Stripe's event objects), applied
 * once: the event id is recorded in webhook_events in the same transaction as its effect, so a
 * redelivery changes nothing, and an effect that fails rolls the record back (the provider retries).
 *
 *   payment_intent.succeeded / payment_intent.payment_failed
 *       the order's charge outcome (metadata.order_id), through domain/charges.ts: a PENDING order
 *       becomes PAID or FAILED; a success for a FAILED order is recorded and refunded automatically.
 *   charge.refunded
 *       a refund made in the provider's dashboard: the part of amount_refunded that payment has
 *       neither recorded nor in flight becomes a Refund (requested by system:provider-dashboard),
 *       with ledger entries and payment.refund.issued (full when nothing is left).
 *   charge.dispute.created
 *       the bank takes the money back at once (Stripe debits the disputed amount when the dispute
 *       opens), so access goes at once too: the dispute is recorded and the disputed amount is
 *       booked as a refund (system:dispute), which makes a fully disputed order REFUNDED and revokes
 *       access through payment.refund.issued. A dispute later won brings the money back; restoring
 *       the learner's access is then an operator's decision (not automated).
 *   charge.dispute.closed / charge.dispute.updated
 *       the dispute's status is updated.
 * Other event types are acknowledged and ignored.
 */
import { isUuid, newId, type Logger } from '@coursegraph/service-kit';
import type { Order } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from '../data/db.js';
import { lockOrder } from '../data/orders.js';
import type { DeclineReason } from '../providers/provider.js';
import { applyChargeOutcomeInTx } from './charges.js';
import { recordRefundInTx, refundableLeft } from './refunds.js';
import { REFUNDABLE_STATUSES } from './order-state.js';

/** The parts of a Stripe event this reads. */
export interface ProviderEvent {
  id: string;
  type: string;
  data: { object: Record<string, unknown> };
}

export type WebhookResult = { status: 'applied' | 'duplicate' | 'ignored'; lateCapture?: boolean; detail?: string };

const str = (value: unknown): string | null =>
  typeof value === 'string' && value.length > 0 && value.length <= 255 ? value : null;
const int = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;

export class Webhooks {
  constructor(private readonly deps: { db: PrismaClient; providerName: string; logger: Logger }) {}

  async apply(event: ProviderEvent): Promise<WebhookResult> {
    return this.deps.db.$transaction(async (tx) => {
      const fresh = await tx.$executeRaw`
        insert into webhook_events (provider, event_id, type) values (${this.deps.providerName}, ${event.id}, ${event.type.slice(0, 100)})
        on conflict do nothing`;
      if (fresh === 0) return { status: 'duplicate' };
      return this.applyInTx(tx, event);
    });
  }

  private async applyInTx(tx: Tx, event: ProviderEvent): Promise<WebhookResult> {
    const object = event.data.object;
    switch (event.type) {
      case 'payment_intent.succeeded':
      case 'payment_intent.payment_failed': {
        const orderId = str((object.metadata as Record<string, unknown> | undefined)?.order_id);
        const intentId = str(object.id);
        if (!orderId || !isUuid(orderId) || !intentId)
          return { status: 'ignored', detail: 'no order_id in the PaymentIntent metadata' };
        if (!(await tx.order.findUnique({ where: { id: orderId } })))
          return { status: 'ignored', detail: 'unknown order' };
        if (event.type === 'payment_intent.succeeded') {
          const applied = await applyChargeOutcomeInTx(
            tx,
            this.deps.providerName,
            orderId,
            { status: 'succeeded', providerPaymentId: intentId },
            null,
          );
          return { status: 'applied', lateCapture: applied.lateCapture };
        }
        const error = (object.last_payment_error ?? {}) as Record<string, unknown>;
        const reason: DeclineReason =
          error.decline_code === 'insufficient_funds' || error.code === 'insufficient_funds'
            ? 'INSUFFICIENT_FUNDS'
            : 'DECLINED';
        await applyChargeOutcomeInTx(
          tx,
          this.deps.providerName,
          orderId,
          { status: 'declined', reason, providerPaymentId: intentId },
          null,
        );
        return { status: 'applied' };
      }
      case 'charge.refunded':
        return this.dashboardRefund(tx, object);
      case 'charge.dispute.created':
        return this.disputeCreated(tx, object);
      case 'charge.dispute.updated':
      case 'charge.dispute.closed': {
        const id = str(object.id);
        const status = str(object.status);
        if (!id || !status) return { status: 'ignored', detail: 'dispute without id or status' };
        const updated = await tx.dispute.updateMany({
          where: { providerDisputeId: id },
          data: { status, updatedAt: new Date() },
        });
        return updated.count > 0 ? { status: 'applied' } : { status: 'ignored', detail: 'unknown dispute' };
      }
      default:
        return { status: 'ignored', detail: `event type ${event.type} is not used` };
    }
  }

  /** The order a charge or dispute belongs to, found by its PaymentIntent, locked. */
  private async orderOfIntent(tx: Tx, intentId: string | null): Promise<Order | null> {
    if (!intentId) return null;
    const payment = await tx.payment.findFirst({ where: { providerPaymentId: intentId, status: 'SUCCEEDED' } });
    return payment ? lockOrder(tx, payment.orderId) : null;
  }

  private async dashboardRefund(tx: Tx, charge: Record<string, unknown>): Promise<WebhookResult> {
    const chargeId = str(charge.id);
    const refundedAtProvider = int(charge.amount_refunded);
    const order = await this.orderOfIntent(tx, str(charge.payment_intent));
    if (!chargeId || refundedAtProvider === null || !order)
      return { status: 'ignored', detail: 'charge of no known order' };
    // Refunds recorded or in flight here are ours; only the rest was made in the dashboard.
    const unexplained = refundedAtProvider - (order.totalMinor - (await refundableLeft(tx, order)));
    const amount = Math.min(unexplained, order.totalMinor - order.refundedMinor);
    if (amount <= 0) return { status: 'ignored', detail: 'every refund of this charge is known' };
    if (!REFUNDABLE_STATUSES.includes(order.status) && order.status !== 'FAILED')
      return { status: 'ignored', detail: `order is ${order.status}` };
    await recordRefundInTx(tx, order, amount, {
      reason: 'Refunded in the payment provider’s dashboard.',
      requestedBy: 'system:provider-dashboard',
      providerKey: `dashboard_${chargeId}_${refundedAtProvider}`,
      providerRefundId: null,
      traceparent: null,
    });
    return { status: 'applied' };
  }

  private async disputeCreated(tx: Tx, dispute: Record<string, unknown>): Promise<WebhookResult> {
    const disputeId = str(dispute.id);
    const disputed = int(dispute.amount);
    const order = await this.orderOfIntent(tx, str(dispute.payment_intent));
    if (!disputeId || disputed === null || !order) return { status: 'ignored', detail: 'dispute of no known order' };
    const recorded = await tx.$executeRaw`
      insert into disputes (id, provider_dispute_id, order_id, user_id, amount_minor, currency, reason, status)
      values (${newId()}::uuid, ${disputeId}, ${order.id}::uuid, ${order.userId}::uuid, ${disputed}, ${order.currency},
              ${str(dispute.reason) ?? 'unknown'}, ${str(dispute.status) ?? 'needs_response'})
      on conflict (provider_dispute_id) do nothing`;
    if (recorded === 0) return { status: 'duplicate' };
    const amount = Math.min(disputed, await refundableLeft(tx, order));
    if (amount <= 0 || !REFUNDABLE_STATUSES.includes(order.status))
      return { status: 'applied', detail: 'nothing left to take back' };
    await recordRefundInTx(tx, order, amount, {
      reason: `Disputed by the buyer's bank (${str(dispute.reason) ?? 'no reason given'}).`,
      requestedBy: 'system:dispute',
      providerKey: `dispute_${disputeId}`,
      providerRefundId: disputeId,
      traceparent: null,
    });
    this.deps.logger.warn(
      { orderId: order.id, disputeId, amount },
      'dispute opened; the amount is booked as refunded and access revoked when nothing is left',
    );
    return { status: 'applied' };
  }
}
