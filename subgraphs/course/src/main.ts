import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runService,
  serviceProcesses,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { courseSettings } from './config.js';
import { createCourseApp } from './app.js';
import { CONTEXT } from './domain/events.js';
import type { PrismaClient, Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

const config = loadConfigOrExit(courseSettings);
const logger = createLogger('course', config.logLevel);
const role = serviceProcesses(config.processes, logger);
if (role.serves) {
  const app = await createCourseApp(config, logger);
  // The relay and consumers run in one process only (the first, with SUBGRAPH_PROCESSES > 1).
  const background = role.background ? await startBackground(app.db) : [];
  await runService({
    name: 'course subgraph',
    logger,
    port: config.port,
    host: config.httpHost,
    app,
    workers: background,
  });
}

/** What this subgraph does besides serving: publishing its outbox and consuming the events it listens to. */
async function startBackground(db: PrismaClient) {
  // Publishes what publications and archivals wrote to the outbox, to the COURSE stream.
  const relay = await startOutboxRelay({
    context: CONTEXT,
    databaseUrl: config.databaseUrl,
    natsUrl: config.natsUrl,
    logger,
  });
  // Learns entitlements from enrollment's events (stream ENROLLMENT), lesson videos and captions from video's (VIDEO).
  const consumed = await startConsumers({
    context: CONTEXT,
    consumers,
    natsUrl: config.natsUrl,
    transaction: prismaTransaction<Tx>(db),
    logger,
  });
  return [consumed, relay];
}
