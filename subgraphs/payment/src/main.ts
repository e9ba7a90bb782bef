import { createLogger, loadConfigOrExit, runSubgraph, startOutboxRelay } from '@coursegraph/service-kit';
import { checkPaymentConfig, paymentSettings } from './config.js';
import { createPaymentApp } from './app.js';
import { startPaymentConsumers } from './events/consumers.js';

const config = loadConfigOrExit(paymentSettings, process.env, checkPaymentConfig);
const logger = createLogger('payment', config.logLevel);
await runSubgraph({
  name: 'payment',
  logger,
  config,
  createApp: async () => {
    const app = await createPaymentApp(config, logger);
    logger.info({ provider: app.provider.name }, 'payment provider');
    return app;
  },
  background: async (app) => [
    await startPaymentConsumers({
      db: app.db,
      deps: { providerName: app.provider.name, logger, kick: () => app.reconciler.kick() },
      natsUrl: config.natsUrl,
      logger,
    }),
    // Pending charges and refunds are settled by look-ups and retries (PAYMENT_RECONCILE_INTERVAL_MS).
    app.reconciler.start(),
    // Last to stop: what the consumers and the reconciler write to the outbox is still published.
    await startOutboxRelay({ context: 'payment', databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger }),
  ],
});
