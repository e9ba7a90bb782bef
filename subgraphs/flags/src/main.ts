import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runService,
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
const app = await createFlagsApp(config, logger);
// Publishes flag changes (flags.flag.changed) to the FLAGS stream, which every service's cache follows.
const relay = await startOutboxRelay({
  context: FLAGS_CONTEXT,
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  logger,
});
// Adds the services' exposure reports into flag_exposures.
const consumed = await startConsumers({
  context: FLAGS_CONTEXT,
  consumers,
  natsUrl: config.natsUrl,
  transaction: prismaTransaction<Tx>(app.db),
  logger,
});
// The consumer stops before the relay.
await runService({
  name: 'flags subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: [consumed, relay],
});
