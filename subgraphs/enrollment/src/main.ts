import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runService,
  serviceProcesses,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { enrollmentSettings } from './config.js';
import { createEnrollmentApp } from './app.js';
import type { PrismaClient, Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

const config = loadConfigOrExit(enrollmentSettings);
const logger = createLogger('enrollment', config.logLevel);
const role = serviceProcesses(config.processes, logger);
if (role.serves) {
  const app = await createEnrollmentApp(config, logger);
  // The relay and consumers run in one process only (the first, with SUBGRAPH_PROCESSES > 1).
  const background = role.background ? await startBackground(app.db) : [];
  // Consumers stop before the relay: what they write to the outbox is still published on the next start.
  await runService({
    name: 'enrollment subgraph',
    logger,
    port: config.port,
    host: config.httpHost,
    app,
    workers: background,
  });
}

/** What this subgraph does besides serving: publishing its outbox and consuming the events it listens to. */
async function startBackground(db: PrismaClient) {
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
    transaction: prismaTransaction<Tx>(db),
    logger,
  });
  return [consumed, relay];
}
