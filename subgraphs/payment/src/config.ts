import { commonSettings, databasePasswordProblem, ConfigError, sandboxProviderProblem, jwksSetting, parse, type ConfigOf } from '@coursegraph/service-kit';

/** Payment's settings, read once at start-up (see README: Configuration). */
export const paymentSettings = {
  ...commonSettings,
  ...jwksSetting,
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
  stripeApiBase: { env: 'STRIPE_API_BASE', default: 'https://api.stripe.com', parse: parse.url, doc: "Stripe's API base URL" },
  stripeSecretKey: { env: 'STRIPE_SECRET_KEY', default: '', parse: parse.string, doc: 'Stripe secret key (required with PAYMENT_PROVIDER=stripe)' },
  providerTimeoutMs: { env: 'PAYMENT_PROVIDER_TIMEOUT_MS', default: 10_000, parse: parse.positiveInt, doc: 'per request to the payment provider' },
};

export type PaymentConfig = ConfigOf<typeof paymentSettings>;

/** Checks that span settings (readConfig checks each alone). */
export function checkPaymentConfig(config: PaymentConfig): PaymentConfig {
  if (config.paymentProvider === 'stripe' && !config.stripeSecretKey) {
    throw new ConfigError(['STRIPE_SECRET_KEY is required when PAYMENT_PROVIDER=stripe']);
  }
  return config;
}
