/**
 * The embedded sandbox provider: deterministic, in memory, no network. Test cards (Stripe's
 * numbers): 4242424242424242 succeeds, 4000000000000002 is declined, 4000000000009995 has
 * insufficient funds, 4000000000000119 simulates a network error before the request reaches the
 * provider (ProviderUnavailableError, nothing charged). Two more cards lose the answer AFTER the
 * charge succeeded, as a real provider can: 4000000000000408 times out and 4000000000000409 answers
 * 409 "a request with this key is in progress" (both ProviderUnavailableError, money taken), so the
 * outcome can only be learnt by lookupCharge.
 *
 * Like a real provider it honours idempotency keys: a repeated key replays the first outcome and
 * charges nothing. It records every charge per key so tests can prove "one charge per key".
 */
import { randomUUID } from 'node:crypto';
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  type ChargeLookup,
  type ChargeLookupRequest,
  type ChargeRequest,
  type ChargeResult,
  type RefundLookup,
  type RefundLookupRequest,
  type PaymentProvider,
  type RefundRequest,
  type RefundResult,
} from './provider.js';

export const SANDBOX_CARDS = {
  success: '4242424242424242',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  networkError: '4000000000000119',
  timeoutAfterCharge: '4000000000000408',
  conflictAfterCharge: '4000000000000409',
} as const;

type CardBehaviour = keyof typeof SANDBOX_CARDS;
const BEHAVIOUR = new Map<string, CardBehaviour>(
  Object.entries(SANDBOX_CARDS).map(([behaviour, card]) => [card, behaviour as CardBehaviour]),
);

/** Card numbers may be sent with spaces or dashes, as people type them. */
const normaliseCard = (paymentMethod: string) => paymentMethod.replace(/[\s-]/g, '');

export interface SandboxCharge {
  providerPaymentId: string;
  amount: number;
  currency: string;
  result: ChargeResult;
}

export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';
  /** Charges made, by idempotency key (a replayed key adds nothing). */
  private readonly charges = new Map<string, SandboxCharge>();
  private readonly refunds = new Map<string, { providerPaymentId: string; amount: number; providerRefundId: string }>();
  /** For tests: while true, every call throws ProviderUnavailableError (the provider is down). */
  down = false;
  /** Every charge call, including replays and network errors, by key. */
  private readonly calls = new Map<string, number>();
  /** Charges executed (money moved or a decline recorded), by key: more than 1 would be a double charge. */
  private readonly executed = new Map<string, number>();

  checkPaymentMethod(paymentMethod: string): string | null {
    if (BEHAVIOUR.has(normaliseCard(paymentMethod))) return null;
    return `The sandbox provider accepts only its test cards: ${Object.values(SANDBOX_CARDS).join(', ')}.`;
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.calls.set(request.idempotencyKey, (this.calls.get(request.idempotencyKey) ?? 0) + 1);
    if (this.down) throw new ProviderUnavailableError('sandbox: simulated outage');
    const stored = this.charges.get(request.idempotencyKey);
    if (stored) {
      if (stored.amount !== request.amount || stored.currency !== request.currency) {
        throw new ProviderRefusedError('Idempotency key reused with different parameters.', 'idempotency_error');
      }
      return stored.result;
    }
    const behaviour = BEHAVIOUR.get(normaliseCard(request.paymentMethod));
    // Nothing reaches the "provider", so nothing is recorded: a later call may charge.
    if (behaviour === 'networkError') throw new ProviderUnavailableError('sandbox: simulated network error');
    const providerPaymentId = `sb_pi_${randomUUID().replace(/-/g, '')}`;
    const result: ChargeResult =
      behaviour === 'success' || behaviour === 'timeoutAfterCharge' || behaviour === 'conflictAfterCharge'
        ? { status: 'succeeded', providerPaymentId }
        : behaviour === 'insufficientFunds'
          ? {
              status: 'declined',
              reason: 'INSUFFICIENT_FUNDS',
              providerPaymentId,
              message: 'Your card has insufficient funds.',
            }
          : { status: 'declined', reason: 'DECLINED', providerPaymentId, message: 'Your card was declined.' };
    this.charges.set(request.idempotencyKey, {
      providerPaymentId,
      amount: request.amount,
      currency: request.currency,
      result,
    });
    this.executed.set(request.idempotencyKey, (this.executed.get(request.idempotencyKey) ?? 0) + 1);
    // The money is taken; only the answer is lost on the way back.
    if (behaviour === 'timeoutAfterCharge')
      throw new ProviderUnavailableError('sandbox: simulated timeout after the charge');
    if (behaviour === 'conflictAfterCharge')
      throw new ProviderUnavailableError('sandbox: simulated 409 idempotency_key_in_use');
    return result;
  }

  async lookupCharge(request: ChargeLookupRequest): Promise<ChargeLookup> {
    if (this.down) throw new ProviderUnavailableError('sandbox: simulated outage');
    const stored = this.charges.get(request.idempotencyKey);
    if (!stored) return { status: 'not_found' };
    const result = stored.result;
    return result.status === 'succeeded'
      ? result
      : { status: 'declined', reason: result.reason, providerPaymentId: result.providerPaymentId };
  }

  async lookupRefund(request: RefundLookupRequest): Promise<RefundLookup> {
    if (this.down) throw new ProviderUnavailableError('sandbox: simulated outage');
    const stored = this.refunds.get(request.idempotencyKey);
    return stored ? { status: 'succeeded', providerRefundId: stored.providerRefundId } : { status: 'not_found' };
  }

  /** For tests: a charge made outside checkout's own call (as if in the provider's dashboard or by a lost request). */
  recordCharge(idempotencyKey: string, amount: number, currency: string): string {
    const providerPaymentId = `sb_pi_${randomUUID().replace(/-/g, '')}`;
    this.charges.set(idempotencyKey, {
      providerPaymentId,
      amount,
      currency,
      result: { status: 'succeeded', providerPaymentId },
    });
    this.executed.set(idempotencyKey, (this.executed.get(idempotencyKey) ?? 0) + 1);
    return providerPaymentId;
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    if (this.down) throw new ProviderUnavailableError('sandbox: simulated outage');
    const stored = this.refunds.get(request.idempotencyKey);
    if (stored) return { providerRefundId: stored.providerRefundId };
    // Payments made before a restart are unknown to this memory; the domain has checked the amounts.
    const charge = [...this.charges.values()].find((c) => c.providerPaymentId === request.providerPaymentId);
    if (charge) {
      if (charge.result.status !== 'succeeded')
        throw new ProviderRefusedError('The charge did not succeed.', 'charge_not_succeeded');
      const refunded = [...this.refunds.values()]
        .filter((r) => r.providerPaymentId === request.providerPaymentId)
        .reduce((sum, r) => sum + r.amount, 0);
      if (refunded + request.amount > charge.amount)
        throw new ProviderRefusedError('The refund exceeds the charge.', 'amount_too_large');
    }
    const providerRefundId = `sb_re_${randomUUID().replace(/-/g, '')}`;
    this.refunds.set(request.idempotencyKey, {
      providerPaymentId: request.providerPaymentId,
      amount: request.amount,
      providerRefundId,
    });
    return { providerRefundId };
  }

  /** For tests: the charges actually made under a key (a replayed key adds none). */
  chargesMade(idempotencyKey: string): number {
    return this.executed.get(idempotencyKey) ?? 0;
  }

  /** For tests: how many times charge() was called with a key. */
  chargeCalls(idempotencyKey: string): number {
    return this.calls.get(idempotencyKey) ?? 0;
  }

  /** For tests: refunds made against a provider payment. */
  refundsOf(providerPaymentId: string): { amount: number; providerRefundId: string }[] {
    return [...this.refunds.values()].filter((r) => r.providerPaymentId === providerPaymentId);
  }
}
