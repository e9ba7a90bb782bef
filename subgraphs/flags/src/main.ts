import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runSubgraph,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { flagsServiceSettings } from './config.js';
import { createFlagsApp } from './app.js';
import type { Tx } from './data/db.js';
import { FLAGS_CONTEXT } from './domain/events.js';
import { consumers } from './events/consumers.js';

const config = loadConfigOrExit(flagsServiceSettings);
const logger = createLogger('flags', config.logLevel);
await runSubgraph({
  name: 'flags',
  logger,
  config,
  createApp: () => createFlagsApp(config, logger),
  background: async (app) => [
    // Adds the services' exposure reports into flag_exposures.
    await startConsumers({
      context: FLAGS_CONTEXT,
      consumers,
      natsUrl: config.natsUrl,
      transaction: prismaTransaction<Tx>(app.db),
      logger,
    }),
    // Publishes flag changes (flags.flag.changed) to the FLAGS stream, which every service's cache follows.
    await startOutboxRelay({
      context: FLAGS_CONTEXT,
      databaseUrl: config.databaseUrl,
      natsUrl: config.natsUrl,
      logger,
    }),
  ],
});
