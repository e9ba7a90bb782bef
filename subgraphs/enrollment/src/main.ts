import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runSubgraph,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { enrollmentSettings } from './config.js';
import { createEnrollmentApp } from './app.js';
import type { Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

const config = loadConfigOrExit(enrollmentSettings);
const logger = createLogger('enrollment', config.logLevel);
await runSubgraph({
  name: 'enrollment',
  logger,
  config,
  createApp: () => createEnrollmentApp(config, logger),
  background: async (app) => [
    await startConsumers({
      context: 'enrollment',
      consumers,
      natsUrl: config.natsUrl,
      transaction: prismaTransaction<Tx>(app.db),
      logger,
    }),
    await startOutboxRelay({ context: 'enrollment', databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger }),
  ],
});
