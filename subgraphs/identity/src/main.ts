import {
  createLogger,
  loadConfigWithChecksOrExit,
  prismaTransaction,
  runService,
  serviceProcesses,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { identitySettings } from './config.js';
import { createIdentityApp } from './app.js';
import { IDENTITY_CONTEXT } from './domain/events.js';
import { demoAdminCheck } from './demo-admin-check.js';
import type { PrismaClient, Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

// In production the demo admin's credentials must not work: checked against the database, listed with every other problem.
const config = await loadConfigWithChecksOrExit(identitySettings, [demoAdminCheck()]);
const logger = createLogger('identity', config.logLevel);
const role = serviceProcesses(config.processes, logger);
if (role.serves) {
  const app = await createIdentityApp(config, logger);
  // The relay and consumers run in one process only (the first, with SUBGRAPH_PROCESSES > 1).
  const background = role.background ? await startBackground(app.db) : [];
  await runService({
    name: 'identity subgraph',
    logger,
    port: config.port,
    host: config.httpHost,
    app,
    workers: background,
  });
}

/** What this subgraph does besides serving: publishing its outbox and consuming the events it listens to. */
async function startBackground(db: PrismaClient) {
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
    transaction: prismaTransaction<Tx>(db),
    logger,
  });
  return [consumed, relay];
}
