/**
 * Builds the payment subgraph (database, Redis, auth, provider, yoga) without listening, so tests
 * can serve it in-process; main.ts serves it and runs the outbox relay and consumers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSubgraph, dependencyProbes, type Logger, type SubgraphOptions } from '@coursegraph/service-kit';
import type { PaymentConfig } from './config.js';
import type { Context } from './context.js';
import { createDatabase } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { Checkout } from './domain/checkout.js';
import { Refunds } from './domain/refunds.js';
import { Reconciler } from './domain/reconciler.js';
import { Webhooks } from './domain/webhooks.js';
import {
  STRIPE_WEBHOOK_PATH,
  stripeWebhookFetch,
  stripeWebhookNode,
  type StripeWebhookOptions,
} from './http/stripe-webhook.js';
import { createProvider, type PaymentProvider } from './providers/index.js';
import { schema, typeDefs } from './schema.js';

export interface PaymentAppOptions {
  /** Keys that verify access tokens. Default: identity's JWKS at IDENTITY_JWKS_URL. */
  getKey?: SubgraphOptions['getKey'];
  /** Default: the provider PAYMENT_PROVIDER selects. */
  provider?: PaymentProvider;
}

export async function createPaymentApp(config: PaymentConfig, logger: Logger, options: PaymentAppOptions = {}) {
  const { db, sql } = createDatabase(config.databaseUrl, { hotReads: config.hotReads });
  const subgraph = createSubgraph({ config, logger, getKey: options.getKey });
  const provider = options.provider ?? createProvider(config);
  const checkout = new Checkout({ db, provider, logger, reconcileAfterMs: config.reconcileAfterMs });
  // A request or the worker holds a claimed attempt this long: longer than the provider calls it makes.
  const leaseMs = 3 * config.providerTimeoutMs + 5_000;
  const retry = { retryBaseMs: config.retryBaseMs, retryMaxMs: config.retryMaxMs, leaseMs };
  const refunds = new Refunds({ db, provider, logger, ...retry });
  const reconciler = new Reconciler({
    db,
    provider,
    logger,
    reconcileAfterMs: config.reconcileAfterMs,
    intervalMs: config.reconcileIntervalMs,
    ...retry,
  });
  const webhookOptions: StripeWebhookOptions = {
    secret: config.stripeWebhookSecret,
    toleranceSeconds: config.webhookToleranceSeconds,
    webhooks: new Webhooks({ db, providerName: provider.name, logger }),
    logger,
    onQueuedWork: () => reconciler.kick(),
  };
  const webhookNode = stripeWebhookNode(webhookOptions);

  const yoga = subgraph.yoga<Context>({
    schema,
    sdl: typeDefs,
    context: () => ({ db, sql, checkout, refunds, reconciler, loaders: createLoaders(db) }),
  });

  return {
    // The provider's webhook beside GraphQL; everything else is yoga's.
    handler: (req: IncomingMessage, res: ServerResponse) =>
      req.url?.split('?')[0] === STRIPE_WEBHOOK_PATH ? webhookNode(req, res) : yoga(req, res),
    yoga,
    /** POST /webhooks/stripe in-process (tests). */
    webhook: stripeWebhookFetch(webhookOptions),
    reconciler,
    db,
    redis: subgraph.redis,
    provider,
    checkout,
    refunds,
    ...dependencyProbes(db, subgraph.redis),
  };
}

export type PaymentApp = Awaited<ReturnType<typeof createPaymentApp>>;
