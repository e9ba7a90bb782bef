import {
  commonSettings,
  databasePasswordProblem,
  ConfigError,
  sandboxProviderProblem,
  hotReadsSetting,
  processesSetting,
  jwksSetting,
  parse,
  type ConfigOf,
} from '@coursegraph/service-kit';

/** Payment's settings, read once at start-up (see README: Configuration). */
export const paymentSettings = {
  ...commonSettings,
  ...jwksSetting,
  ...hotReadsSetting,
  ...processesSetting,
  port: { env: 'PAYMENT_PORT', default: 4004, parse: parse.port, doc: 'HTTP port of the payment subgraph' },
  databaseUrl: {
    env: 'PAYMENT_DATABASE_URL',
    default: 'postgres://cg_payment:cg_payment_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "payment's own PostgreSQL role and database",
  },
  paymentProvider: {
    env: 'PAYMENT_PROVIDER',
    default: 'sandbox' as 'sandbox' | 'stripe',
    parse: parse.oneOf<'sandbox' | 'stripe'>('sandbox', 'stripe'),
    productionCheck: sandboxProviderProblem,
    doc: 'sandbox (embedded, deterministic test cards; refused in production) | stripe',
  },
  stripeApiBase: {
    env: 'STRIPE_API_BASE',
    default: 'https://api.stripe.com',
    parse: parse.url,
    doc: "Stripe's API base URL",
  },
  stripeSecretKey: {
    env: 'STRIPE_SECRET_KEY',
    default: '',
    parse: parse.string,
    // In production listed with every other problem; otherwise checkPaymentConfig refuses it.
    productionCheck: (key: string, config: Readonly<Record<string, unknown>>) =>
      config.paymentProvider === 'stripe' && !key ? 'is required with PAYMENT_PROVIDER=stripe' : undefined,
    doc: 'Stripe secret key (required with PAYMENT_PROVIDER=stripe)',
  },
  providerTimeoutMs: {
    env: 'PAYMENT_PROVIDER_TIMEOUT_MS',
    default: 10_000,
    parse: parse.positiveInt,
    doc: 'per request to the payment provider',
  },
  stripeWebhookSecret: {
    env: 'STRIPE_WEBHOOK_SECRET',
    default: '',
    parse: parse.string,
    // Without it refunds from Stripe's dashboard and disputes never reach the ledger or revoke access.
    productionCheck: (secret: string, config: Readonly<Record<string, unknown>>) =>
      config.paymentProvider === 'stripe' && !secret
        ? 'is required in production: without it refunds and disputes made at Stripe are never applied'
        : undefined,
    doc: 'signing secret (whsec_...) of the Stripe webhook endpoint POST /webhooks/stripe; empty: the endpoint answers 503 (required in production)',
  },
  webhookToleranceSeconds: {
    env: 'PAYMENT_WEBHOOK_TOLERANCE_S',
    default: 300,
    parse: parse.positiveInt,
    doc: "how far a webhook signature's timestamp may be from now before it is refused as stale",
  },
  reconcileIntervalMs: {
    env: 'PAYMENT_RECONCILE_INTERVAL_MS',
    default: 10_000,
    parse: parse.positiveInt,
    doc: 'how often the reconciliation worker looks for pending charges and refunds',
  },
  reconcileAfterMs: {
    env: 'PAYMENT_RECONCILE_AFTER_MS',
    default: 120_000,
    parse: nonNegativeInt,
    doc: "age of a pending charge before the reconciler looks it up at the provider (above Stripe search's lag of about a minute)",
  },
  retryBaseMs: {
    env: 'PAYMENT_RETRY_BASE_MS',
    default: 2_000,
    parse: parse.positiveInt,
    doc: 'first wait before a refund or look-up the provider could not answer is tried again (doubled each time)',
  },
  retryMaxMs: {
    env: 'PAYMENT_RETRY_MAX_MS',
    default: 300_000,
    parse: parse.positiveInt,
    doc: 'longest wait between two tries of a refund or look-up (the cap of the backoff)',
  },
};

function nonNegativeInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error('expected a whole number of 0 or more');
  return n;
}

export type PaymentConfig = ConfigOf<typeof paymentSettings>;

/** Checks that span settings (readConfig checks each alone). */
export function checkPaymentConfig(config: PaymentConfig): PaymentConfig {
  if (config.paymentProvider === 'stripe' && !config.stripeSecretKey) {
    throw new ConfigError(['STRIPE_SECRET_KEY is required when PAYMENT_PROVIDER=stripe']);
  }
  return config;
}
