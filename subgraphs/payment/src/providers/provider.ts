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
  /** Stored with the refund at the provider (the attempt id), so a look-up can find it. */
  metadata?: Record<string, string>;
}

/** What the provider knows of a charge, asked after an answer was lost (timeout, 5xx, 409). */
export type ChargeLookup =
  | { status: 'succeeded'; providerPaymentId: string }
  | { status: 'declined'; reason: DeclineReason; providerPaymentId: string | null }
  /** It exists and has no final outcome yet: ask again later. */
  | { status: 'processing'; providerPaymentId: string }
  /** The provider has no charge for this order: the request never reached it. */
  | { status: 'not_found' };

export interface ChargeLookupRequest {
  orderId: string;
  /** The key the charge was sent with. */
  idempotencyKey: string;
  /** The provider's id, when an earlier answer gave it. */
  providerPaymentId: string | null;
}

export type RefundLookup =
  | { status: 'succeeded'; providerRefundId: string }
  | { status: 'failed'; providerRefundId: string }
  | { status: 'processing'; providerRefundId: string }
  | { status: 'not_found' };

export interface RefundLookupRequest {
  providerPaymentId: string;
  idempotencyKey: string;
  /** The attempt id sent as metadata with the refund. */
  attemptId: string;
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
  /** Looks a charge up without changing anything; ProviderUnavailableError when it cannot tell. */
  lookupCharge(request: ChargeLookupRequest): Promise<ChargeLookup>;
  /** Looks a refund up without changing anything; ProviderUnavailableError when it cannot tell. */
  lookupRefund(request: RefundLookupRequest): Promise<RefundLookup>;
}

/**
 * The provider's answer is unknown (network error, timeout, 5xx, 409 "in progress", rate limit,
 * misconfiguration): the request may or may not have taken effect, so only a look-up can tell.
 */
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
