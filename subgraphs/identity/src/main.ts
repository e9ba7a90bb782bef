import {
  createLogger,
  loadConfigWithChecksOrExit,
  prismaTransaction,
  runSubgraph,
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
await runSubgraph({
  name: 'identity',
  logger,
  config,
  createApp: () => createIdentityApp(config, logger),
  background: async (app) => [
    // Adds the gateway's usage reports (stream GATEWAY) into the hourly counts operationUsage reads.
    await startConsumers({
      context: IDENTITY_CONTEXT,
      consumers,
      natsUrl: config.natsUrl,
      transaction: prismaTransaction<Tx>(app.db),
      logger,
    }),
    // Publishes registrations and deactivations written to the outbox, to the IDENTITY stream.
    await startOutboxRelay({
      context: IDENTITY_CONTEXT,
      databaseUrl: config.databaseUrl,
      natsUrl: config.natsUrl,
      logger,
    }),
  ],
});
