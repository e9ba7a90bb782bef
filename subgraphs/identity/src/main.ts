import {
  createLogger,
  loadConfigWithChecksOrExit,
  prismaTransaction,
  runService,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { identitySettings } from './config.js';
import { createIdentityApp } from './app.js';
import { IDENTITY_CONTEXT } from './domain/events.js';
import { demoAdminCheck } from './demo-admin-check.js';
import type { Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

// In production the demo admin's credentials must not work: checked against the database, listed with every other problem.
const config = await loadConfigWithChecksOrExit(identitySettings, [demoAdminCheck()]);
const logger = createLogger('identity', config.logLevel);
const app = await createIdentityApp(config, logger);
// Publishes registrations and deactivations written to the outbox, to the IDENTITY stream.
const relay = await startOutboxRelay({
  context: IDENTITY_CONTEXT,
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  logger,
});
// Adds the gateway's usage reports (stream GATEWAY) into the hourly counts operationUsage reads.
const consumed = await startConsumers({
  context: IDENTITY_CONTEXT,
  consumers,
  natsUrl: config.natsUrl,
  transaction: prismaTransaction<Tx>(app.db),
  logger,
});
await runService({
  name: 'identity subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: [consumed, relay],
});
