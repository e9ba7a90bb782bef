/**
 * Builds the payment subgraph (database, Redis, auth, provider, yoga) without listening, so tests
 * can serve it in-process; main.ts serves it and runs the outbox relay and consumers.
 */
import { createAuthVerifier, createRedis, createServiceYoga, remoteJwks, type AuthVerifierOptions, type Logger, dependencyProbes } from '@coursegraph/service-kit';
import type { PaymentConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { Checkout } from './domain/checkout.js';
import { Refunds } from './domain/refunds.js';
import { createProvider, type PaymentProvider } from './providers/index.js';
import { schema, typeDefs } from './schema.js';

export interface PaymentAppOptions {
  /** Keys that verify access tokens. Default: identity's JWKS at IDENTITY_JWKS_URL. */
  getKey?: AuthVerifierOptions['getKey'];
  /** Default: the provider PAYMENT_PROVIDER selects. */
  provider?: PaymentProvider;
}

export async function createPaymentApp(config: PaymentConfig, logger: Logger, options: PaymentAppOptions = {}) {
  const db = createDb(config.databaseUrl);
  const redis = createRedis(config.redisUrl);
  const provider = options.provider ?? createProvider(config);
  const getKey = options.getKey ?? remoteJwks(config.jwksUrl);
  const auth = createAuthVerifier({ getKey, issuer: config.authIssuer, audience: config.authAudience, redis });
  const checkout = new Checkout({ db, provider, logger });
  const refunds = new Refunds({ db, provider, logger });

  const yoga = createServiceYoga<Context>({
    schema,
    logger,
    operationLimits: { config, sdl: typeDefs },
    context: async (request) => {
      const requestId = request.headers.get('x-request-id') ?? '';
      return {
        viewer: await auth.viewerFromRequest(request),
        requestId,
        logger: logger.child({ requestId }),
        db,
        checkout,
        refunds,
        loaders: createLoaders(db),
        traceparent: request.headers.get('traceparent'),
      };
    },
  });

  return {
    handler: yoga,
    yoga,
    db,
    redis,
    provider,
    checkout,
    refunds,
    ...dependencyProbes(db, redis),
  };
}

export type PaymentApp = Awaited<ReturnType<typeof createPaymentApp>>;
