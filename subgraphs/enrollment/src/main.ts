import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runService,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { enrollmentSettings } from './config.js';
import { createEnrollmentApp } from './app.js';
import type { Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

const config = loadConfigOrExit(enrollmentSettings);
const logger = createLogger('enrollment', config.logLevel);
const app = await createEnrollmentApp(config, logger);
const relay = await startOutboxRelay({
  context: 'enrollment',
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  logger,
});
const consumed = await startConsumers({
  context: 'enrollment',
  consumers,
  natsUrl: config.natsUrl,
  transaction: prismaTransaction<Tx>(app.db),
  logger,
});
// Consumers stop before the relay: what they write to the outbox is still published on the next start.
await runService({
  name: 'enrollment subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: [consumed, relay],
});
