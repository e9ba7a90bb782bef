import type { PaymentProvider } from './provider.js';
import { SandboxProvider } from './sandbox.js';
import { StripeProvider } from './stripe.js';

export * from './provider.js';
export { SandboxProvider, SANDBOX_CARDS } from './sandbox.js';
export { StripeProvider } from './stripe.js';
export { verifyStripeSignature, stripeSignatureHeader, type SignatureProblem } from './stripe-webhook-signature.js';

export interface ProviderSettings {
  paymentProvider: 'sandbox' | 'stripe';
  stripeApiBase: string;
  stripeSecretKey: string;
  providerTimeoutMs: number;
}

/** The provider chosen by PAYMENT_PROVIDER (default sandbox). */
export function createProvider(settings: ProviderSettings): PaymentProvider {
  if (settings.paymentProvider === 'sandbox') return new SandboxProvider();
  if (!settings.stripeSecretKey) throw new Error('STRIPE_SECRET_KEY is required when PAYMENT_PROVIDER=stripe');
  return new StripeProvider({
    apiBase: settings.stripeApiBase,
    secretKey: settings.stripeSecretKey,
    timeoutMs: settings.providerTimeoutMs,
  });
}
