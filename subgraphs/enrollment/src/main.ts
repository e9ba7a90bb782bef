import { createLogger, loadConfigOrExit, serve, shutdownOnSignals, startConsumer, startOutboxRelay } from '@coursegraph/service-kit';
import { enrollmentSettings } from './config.js';
import { createEnrollmentApp } from './app.js';
import { consumers, transactionOf } from './events/consumers.js';

const config = loadConfigOrExit(enrollmentSettings);
const logger = createLogger('enrollment', config.logLevel);
const app = await createEnrollmentApp(config, logger);
const relay = await startOutboxRelay({ context: 'enrollment', databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger });
const workers = await Promise.all(
  Object.entries(consumers).map(([name, c]) =>
    startConsumer({ context: 'enrollment', name, stream: c.stream, natsUrl: config.natsUrl, handlers: c.handlers, transaction: transactionOf(app.db), logger }),
  ),
);
const running = await serve({
  handler: app.handler,
  logger,
  port: config.port,
  ready: app.ready,
  onShutdown: async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await relay.stop();
    await app.close();
  },
});
shutdownOnSignals(running, logger);
logger.info({ url: `${running.url}/graphql` }, 'enrollment subgraph listening');
