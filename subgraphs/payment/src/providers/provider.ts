/**
 * The payment provider interface: the only way payment talks to the outside world about money.
 * Implementations: the embedded sandbox (the default, deterministic, what tests exercise) and a
 * Stripe adapter (PaymentIntents and Refunds REST API).
 */

/** Why a charge did not go through; the same words as PaymentEvents.failed's reason. */
export type DeclineReason = 'DECLINED' | 'INSUFFICIENT_FUNDS';
export type FailureReason = DeclineReason | 'PROVIDER_UNAVAILABLE';

export interface ChargeRequest {
  /** Minor units, > 0. */
  amount: number;
  /** ISO 4217, upper-case. */
  currency: string;
  /** A sandbox test card number, or a provider token (Stripe: a PaymentMethod id). */
  paymentMethod: string;
  /** Sent to the provider, which answers a repeated key with the first outcome and never charges twice. */
  idempotencyKey: string;
  description: string;
  /** Shown in the provider's dashboard (e.g. the order id). */
  metadata?: Record<string, string>;
}

export type ChargeResult =
  | { status: 'succeeded'; providerPaymentId: string }
  | { status: 'declined'; reason: DeclineReason; providerPaymentId: string | null; message: string };

export interface RefundRequest {
  providerPaymentId: string;
  /** Minor units, > 0. */
  amount: number;
  idempotencyKey: string;
}

export interface RefundResult {
  providerRefundId: string;
}

export interface PaymentProvider {
  /** Stored on each payment: sandbox or stripe. */
  readonly name: string;
  /**
   * Checks the shape of a payment method before any order is made (so bad input changes nothing);
   * returns a message for the client when it cannot be one this provider accepts, else null.
   */
  checkPaymentMethod(paymentMethod: string): string | null;
  /** A decline is a result; ProviderUnavailableError when the provider could not be reached. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** ProviderUnavailableError when unreachable, ProviderRefusedError when the provider says no. */
  refund(request: RefundRequest): Promise<RefundResult>;
}

/** The provider did not answer (network error, timeout, 5xx, rate limit, misconfiguration). */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
}

/** The provider answered and refused (e.g. the charge was already refunded). */
export class ProviderRefusedError extends Error {
  override readonly name = 'ProviderRefusedError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
