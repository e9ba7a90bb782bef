/**
 * The Stripe adapter: PaymentIntents (created and confirmed in one call) and Refunds, over Stripe's
 * form-encoded REST API with idempotency keys. Tested against a local server speaking the protocol.
 *
 * Look-ups, after an answer was lost: a charge whose PaymentIntent id is known is read with
 * GET /v1/payment_intents/:id; otherwise it is found by the order id sent as metadata, with
 * GET /v1/payment_intents/search?query=metadata['order_id']:'<id>' (Stripe's search lags writes by
 * up to about a minute, which is why the reconciler waits PAYMENT_RECONCILE_AFTER_MS first). A
 * refund is found among GET /v1/refunds?payment_intent=<id> by the attempt id sent as metadata.
 */
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  type ChargeLookup,
  type ChargeLookupRequest,
  type ChargeRequest,
  type ChargeResult,
  type DeclineReason,
  type RefundLookup,
  type RefundLookupRequest,
  type PaymentProvider,
  type RefundRequest,
  type RefundResult,
} from './provider.js';

export interface StripeOptions {
  /** Default https://api.stripe.com (tests point it at a local server). */
  apiBase: string;
  /** sk_live_... or sk_test_... */
  secretKey: string;
  /** Per request; past it the provider counts as unavailable. Default 10 000 ms. */
  timeoutMs?: number;
}

/** The API version the request and response shapes below are written against. */
export const STRIPE_API_VERSION = '2024-06-20';

interface PaymentIntent {
  id?: string;
  status?: string;
  last_payment_error?: StripeError | null;
}

interface StripeRefund {
  id?: string;
  status?: string;
  metadata?: Record<string, string> | null;
}

interface StripeError {
  type?: string;
  code?: string;
  decline_code?: string;
  message?: string;
  payment_intent?: { id?: string };
}

const DECLINE_MESSAGES: Record<DeclineReason, string> = {
  DECLINED: 'Your card was declined.',
  INSUFFICIENT_FUNDS: 'Your card has insufficient funds.',
};

export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  private readonly base: string;

  constructor(private readonly options: StripeOptions) {
    this.base = options.apiBase.replace(/\/+$/, '');
  }

  checkPaymentMethod(paymentMethod: string): string | null {
    return /^(pm|card|src)_[A-Za-z0-9_]{1,200}$/.test(paymentMethod)
      ? null
      : 'Send a Stripe PaymentMethod id (pm_...).';
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const form = new URLSearchParams({
      amount: String(request.amount),
      currency: request.currency.toLowerCase(),
      payment_method: request.paymentMethod,
      confirm: 'true',
      description: request.description,
      // Cards only, no redirects: the checkout has no page to return to.
      'automatic_payment_methods[enabled]': 'true',
      'automatic_payment_methods[allow_redirects]': 'never',
    });
    for (const [key, value] of Object.entries(request.metadata ?? {})) form.set(`metadata[${key}]`, value);
    const { status, body } = await this.post('/v1/payment_intents', form, request.idempotencyKey);

    if (status === 200) {
      const intent = body as { id?: string; status?: string };
      if (typeof intent.id !== 'string') throw new ProviderUnavailableError('stripe: payment intent without an id');
      if (intent.status === 'succeeded') return { status: 'succeeded', providerPaymentId: intent.id };
      // requires_action (3-D Secure) and the like: this checkout cannot complete them.
      return {
        status: 'declined',
        reason: 'DECLINED',
        providerPaymentId: intent.id,
        message: 'The card needs an authentication step this checkout does not support.',
      };
    }
    const error = errorOf(body);
    if (status === 402 || error.type === 'card_error') {
      const reason: DeclineReason =
        error.decline_code === 'insufficient_funds' || error.code === 'insufficient_funds'
          ? 'INSUFFICIENT_FUNDS'
          : 'DECLINED';
      return {
        status: 'declined',
        reason,
        providerPaymentId: error.payment_intent?.id ?? null,
        message: DECLINE_MESSAGES[reason],
      };
    }
    if (status === 400 && error.type === 'invalid_request_error' && error.code !== 'idempotency_key_in_use') {
      return {
        status: 'declined',
        reason: 'DECLINED',
        providerPaymentId: null,
        message: 'The payment provider did not accept this payment method.',
      };
    }
    throw unavailable(status, error);
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const form = new URLSearchParams({ payment_intent: request.providerPaymentId, amount: String(request.amount) });
    for (const [key, value] of Object.entries(request.metadata ?? {})) form.set(`metadata[${key}]`, value);
    const { status, body } = await this.post('/v1/refunds', form, request.idempotencyKey);
    if (status === 200) {
      const refund = body as { id?: string; status?: string };
      if (typeof refund.id !== 'string') throw new ProviderUnavailableError('stripe: refund without an id');
      if (refund.status === 'failed' || refund.status === 'canceled')
        throw new ProviderRefusedError(`The refund ${refund.status}.`, `refund_${refund.status}`);
      return { providerRefundId: refund.id };
    }
    const error = errorOf(body);
    if (status >= 400 && status < 500 && ![401, 403, 409, 429].includes(status)) {
      throw new ProviderRefusedError(
        error.message ?? 'The payment provider refused the refund.',
        error.code ?? 'refused',
      );
    }
    throw unavailable(status, error);
  }

  async lookupCharge(request: ChargeLookupRequest): Promise<ChargeLookup> {
    if (request.providerPaymentId) {
      const { status, body } = await this.get(`/v1/payment_intents/${encodeURIComponent(request.providerPaymentId)}`);
      if (status === 404) return { status: 'not_found' };
      if (status !== 200) throw unavailable(status, errorOf(body));
      return intentOutcome(body as PaymentIntent) ?? { status: 'not_found' };
    }
    const query = new URLSearchParams({
      query: `metadata['order_id']:'${request.orderId.replace(/[^0-9a-fA-F-]/g, '')}'`,
      limit: '10',
    });
    const { status, body } = await this.get(`/v1/payment_intents/search?${query}`);
    if (status !== 200) throw unavailable(status, errorOf(body));
    const outcomes = ((body as { data?: PaymentIntent[] }).data ?? [])
      .map(intentOutcome)
      .filter((o): o is ChargeLookup => o !== null);
    // One key makes one PaymentIntent; should there be more, money taken wins over anything else.
    return (
      outcomes.find((o) => o.status === 'succeeded') ??
      outcomes.find((o) => o.status === 'processing') ??
      outcomes[0] ?? { status: 'not_found' }
    );
  }

  async lookupRefund(request: RefundLookupRequest): Promise<RefundLookup> {
    const query = new URLSearchParams({ payment_intent: request.providerPaymentId, limit: '100' });
    const { status, body } = await this.get(`/v1/refunds?${query}`);
    if (status !== 200) throw unavailable(status, errorOf(body));
    const refund = ((body as { data?: StripeRefund[] }).data ?? []).find(
      (r) => r.metadata?.attempt_id === request.attemptId,
    );
    if (!refund?.id) return { status: 'not_found' };
    if (refund.status === 'succeeded') return { status: 'succeeded', providerRefundId: refund.id };
    if (refund.status === 'failed' || refund.status === 'canceled')
      return { status: 'failed', providerRefundId: refund.id };
    return { status: 'processing', providerRefundId: refund.id };
  }

  private get(path: string): Promise<{ status: number; body: unknown }> {
    return this.request('GET', path, undefined, undefined);
  }

  private post(
    path: string,
    form: URLSearchParams,
    idempotencyKey: string,
  ): Promise<{ status: number; body: unknown }> {
    return this.request('POST', path, form, idempotencyKey);
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    form: URLSearchParams | undefined,
    idempotencyKey: string | undefined,
  ): Promise<{ status: number; body: unknown }> {
    let response: Response;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.secretKey}`,
      'stripe-version': STRIPE_API_VERSION,
    };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: form?.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new ProviderUnavailableError(`stripe: ${(err as Error).message}`, { cause: err });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (err) {
      throw new ProviderUnavailableError(`stripe: unreadable response (HTTP ${response.status})`, { cause: err });
    }
    return { status: response.status, body };
  }
}

/** A PaymentIntent's outcome as this checkout sees it (confirmed in one call, no customer actions). */
function intentOutcome(intent: PaymentIntent): ChargeLookup | null {
  if (typeof intent.id !== 'string') return null;
  switch (intent.status) {
    case 'succeeded':
      return { status: 'succeeded', providerPaymentId: intent.id };
    case 'processing':
    case 'requires_confirmation':
    case 'requires_capture':
      return { status: 'processing', providerPaymentId: intent.id };
    default: {
      // requires_payment_method (the confirmation failed), requires_action (not supported here), canceled.
      const error = intent.last_payment_error ?? {};
      const reason: DeclineReason =
        error.decline_code === 'insufficient_funds' || error.code === 'insufficient_funds'
          ? 'INSUFFICIENT_FUNDS'
          : 'DECLINED';
      return { status: 'declined', reason, providerPaymentId: intent.id };
    }
  }
}

function errorOf(body: unknown): StripeError {
  const error = (body as { error?: unknown } | null)?.error;
  return error && typeof error === 'object' ? (error as StripeError) : {};
}

function unavailable(status: number, error: StripeError): ProviderUnavailableError {
  // 401/403 mean our key is wrong: the provider is unusable until an operator fixes the config.
  return new ProviderUnavailableError(
    `stripe: HTTP ${status} ${error.type ?? ''} ${error.code ?? ''} ${error.message ?? ''}`.trim(),
  );
}
