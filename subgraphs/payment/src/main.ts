import { createLogger, loadConfigOrExit, serve, shutdownOnSignals, startOutboxRelay } from '@coursegraph/service-kit';
import { checkPaymentConfig, paymentSettings } from './config.js';
import { createPaymentApp } from './app.js';
import { startPaymentConsumers } from './events/consumers.js';

const config = loadConfigOrExit(paymentSettings);
const logger = createLogger('payment', config.logLevel);
try {
  checkPaymentConfig(config);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const app = await createPaymentApp(config, logger);
const relay = await startOutboxRelay({ context: 'payment', databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger });
const consumers = await startPaymentConsumers({ db: app.db, deps: { provider: app.provider, logger }, natsUrl: config.natsUrl, logger });
const running = await serve({
  handler: app.handler,
  logger,
  port: config.port,
  ready: app.ready,
  onShutdown: async () => {
    // Stop taking events before the pools they use close.
    await consumers.stop();
    await relay.stop();
    await app.close();
  },
});
shutdownOnSignals(running, logger);
logger.info({ url: `${running.url}/graphql`, provider: app.provider.name }, 'payment subgraph listening');
