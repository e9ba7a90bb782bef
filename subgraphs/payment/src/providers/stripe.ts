/**
 * The Stripe adapter: PaymentIntents (created and confirmed in one call) and Refunds, over Stripe's
 * form-encoded REST API with idempotency keys. Tested against a local server speaking the protocol.
 */
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  type ChargeRequest,
  type ChargeResult,
  type DeclineReason,
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
    return /^(pm|card|src)_[A-Za-z0-9_]{1,200}$/.test(paymentMethod) ? null : 'Send a Stripe PaymentMethod id (pm_...).';
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
      return { status: 'declined', reason: 'DECLINED', providerPaymentId: intent.id, message: 'The card needs an authentication step this checkout does not support.' };
    }
    const error = errorOf(body);
    if (status === 402 || error.type === 'card_error') {
      const reason: DeclineReason = error.decline_code === 'insufficient_funds' || error.code === 'insufficient_funds' ? 'INSUFFICIENT_FUNDS' : 'DECLINED';
      return { status: 'declined', reason, providerPaymentId: error.payment_intent?.id ?? null, message: DECLINE_MESSAGES[reason] };
    }
    if (status === 400 && error.type === 'invalid_request_error' && error.code !== 'idempotency_key_in_use') {
      return { status: 'declined', reason: 'DECLINED', providerPaymentId: null, message: 'The payment provider did not accept this payment method.' };
    }
    throw unavailable(status, error);
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const form = new URLSearchParams({ payment_intent: request.providerPaymentId, amount: String(request.amount) });
    const { status, body } = await this.post('/v1/refunds', form, request.idempotencyKey);
    if (status === 200) {
      const refund = body as { id?: string; status?: string };
      if (typeof refund.id !== 'string') throw new ProviderUnavailableError('stripe: refund without an id');
      if (refund.status === 'failed' || refund.status === 'canceled') throw new ProviderRefusedError(`The refund ${refund.status}.`, `refund_${refund.status}`);
      return { providerRefundId: refund.id };
    }
    const error = errorOf(body);
    if (status >= 400 && status < 500 && ![401, 403, 409, 429].includes(status)) {
      throw new ProviderRefusedError(error.message ?? 'The payment provider refused the refund.', error.code ?? 'refused');
    }
    throw unavailable(status, error);
  }

  private async post(path: string, form: URLSearchParams, idempotencyKey: string): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.secretKey}`,
          'content-type': 'application/x-www-form-urlencoded',
          'idempotency-key': idempotencyKey,
          'stripe-version': STRIPE_API_VERSION,
        },
        body: form.toString(),
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

function errorOf(body: unknown): StripeError {
  const error = (body as { error?: unknown } | null)?.error;
  return error && typeof error === 'object' ? (error as StripeError) : {};
}

function unavailable(status: number, error: StripeError): ProviderUnavailableError {
  // 401/403 mean our key is wrong: the provider is unusable until an operator fixes the config.
  return new ProviderUnavailableError(`stripe: HTTP ${status} ${error.type ?? ''} ${error.code ?? ''} ${error.message ?? ''}`.trim());
}
