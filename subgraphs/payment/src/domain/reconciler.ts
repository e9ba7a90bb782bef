/**
 * The reconciler settles what the provider's answers left open, by asking the provider, never by
 * guessing:
 *
 *   - charges still REQUESTED PAYMENT_RECONCILE_AFTER_MS after the order was made are looked up:
 *     succeeded or declined is applied (domain/charges.ts); "the provider has no such charge" fails
 *     the order (PROVIDER_UNAVAILABLE); still processing, or no answer, is asked again later;
 *   - refunds still REQUESTED and due (saga compensations, admin refunds the provider did not
 *     answer, late captures to give back) are sent again, looked up first when an earlier try may
 *     have reached the provider, with capped exponential backoff until the provider answers.
 *
 * Each attempt is claimed with a lease (data/attempts.ts), so several payment processes may run it.
 * main.ts runs it every PAYMENT_RECONCILE_INTERVAL_MS; `reconcilePayments` (admins) runs one pass,
 * of every due attempt or of the orders it names.
 */
import type { Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import { backoffMs, claimDueAttempts, scheduleRetry, type ProviderAttempt } from '../data/attempts.js';
import { ProviderUnavailableError, type PaymentProvider } from '../providers/provider.js';
import { applyChargeOutcome } from './charges.js';
import { sendRefund } from './refunds.js';

export interface ReconcilerOptions {
  db: PrismaClient;
  provider: PaymentProvider;
  logger: Logger;
  /** PAYMENT_RECONCILE_AFTER_MS: age of a pending charge before it is looked up. */
  reconcileAfterMs: number;
  /** PAYMENT_RECONCILE_INTERVAL_MS: time between passes of the worker. */
  intervalMs: number;
  /** PAYMENT_RETRY_BASE_MS and PAYMENT_RETRY_MAX_MS: the capped backoff. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claimed attempt is held before another process may take it. */
  leaseMs: number;
  /** Attempts per kind per pass. Default 100. */
  batchSize?: number;
}

export interface ReconcileReport {
  /** Attempts claimed and worked on in this pass. */
  checked: number;
  /** Of those, attempts that reached a final state. */
  resolved: number;
}

export class Reconciler {
  private running: Promise<ReconcileReport> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(private readonly options: ReconcilerOptions) {}

  /**
   * One pass; a full pass already running in this process is joined rather than doubled. With
   * `orderIds`, only those orders' attempts are worked on (an operator settling one order now).
   */
  runOnce(filter: { orderIds?: string[] } = {}): Promise<ReconcileReport> {
    if (filter.orderIds) return this.pass(filter.orderIds);
    this.running ??= this.pass(null).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Starts the periodic worker; stop() ends it after the pass in progress. */
  start(): { stop(): Promise<void> } {
    this.stopped = false;
    const tick = () => {
      this.timer = setTimeout(() => {
        this.runOnce()
          .catch((err: Error) => this.options.logger.error({ err }, 'reconciliation pass failed'))
          .finally(() => {
            if (!this.stopped) tick();
          });
      }, this.options.intervalMs);
    };
    tick();
    return { stop: () => this.stop() };
  }

  /** Asks for a pass soon (a compensation was just recorded), without waiting for the interval. */
  kick(): void {
    if (this.stopped || this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      this.runOnce().catch((err: Error) => this.options.logger.error({ err }, 'reconciliation pass failed'));
    }, 100);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    await this.running?.catch(() => {});
  }

  private async pass(orderIds: string[] | null): Promise<ReconcileReport> {
    const { db, leaseMs, reconcileAfterMs } = this.options;
    const batch = this.options.batchSize ?? 100;
    let checked = 0;
    let resolved = 0;
    const charges = await claimDueAttempts(
      db,
      'CHARGE',
      leaseMs,
      batch,
      new Date(Date.now() - reconcileAfterMs),
      orderIds,
    );
    for (const attempt of charges) {
      checked++;
      const settled = await this.settleCharge(attempt).catch((err: Error) => {
        this.options.logger.error(
          { err, attemptId: attempt.id },
          'charge look-up failed unexpectedly; retried after its lease',
        );
        return false;
      });
      if (settled) resolved++;
    }
    const refunds = await claimDueAttempts(db, 'REFUND', leaseMs, batch, null, orderIds);
    for (const attempt of refunds) {
      checked++;
      // tries was raised by the claim: above 1, an earlier try may have reached the provider.
      const sent = await sendRefund(this.refundDeps(), attempt, attempt.tries > 1).catch((err: Error) => {
        this.options.logger.error(
          { err, attemptId: attempt.id },
          'refund attempt failed unexpectedly; retried after its lease',
        );
        return null;
      });
      if (sent && sent.status !== 'queued') resolved++;
    }
    if (checked > 0) this.options.logger.info({ checked, resolved }, 'reconciliation pass');
    return { checked, resolved };
  }

  /** Looks one charge up; true when its order reached PAID or FAILED. */
  private async settleCharge(attempt: ProviderAttempt): Promise<boolean> {
    const { db, provider, logger } = this.options;
    try {
      const found = await provider.lookupCharge({
        orderId: attempt.orderId,
        idempotencyKey: attempt.providerKey,
        providerPaymentId: attempt.providerRef,
      });
      if (found.status === 'processing') {
        await scheduleRetry(
          db,
          attempt.id,
          this.backoff(attempt),
          `charge ${found.providerPaymentId} still processing`,
        );
        return false;
      }
      const outcome =
        found.status === 'not_found'
          ? ({ status: 'declined', reason: 'PROVIDER_UNAVAILABLE', providerPaymentId: null } as const)
          : found;
      const { order } = await applyChargeOutcome(db, provider.name, attempt.orderId, outcome, attempt.traceparent);
      logger.info({ orderId: order.id, status: order.status, lookup: found.status }, 'pending charge reconciled');
      return true;
    } catch (err) {
      if (!(err instanceof ProviderUnavailableError)) throw err;
      await scheduleRetry(db, attempt.id, this.backoff(attempt), err.message);
      logger.warn(
        { orderId: attempt.orderId, err: err.message },
        'payment provider unavailable; charge look-up retried later',
      );
      return false;
    }
  }

  private backoff(attempt: ProviderAttempt): number {
    return backoffMs(attempt.tries, this.options.retryBaseMs, this.options.retryMaxMs);
  }

  private refundDeps() {
    const { db, provider, logger, retryBaseMs, retryMaxMs, leaseMs } = this.options;
    return { db, provider, logger, retryBaseMs, retryMaxMs, leaseMs };
  }
}
