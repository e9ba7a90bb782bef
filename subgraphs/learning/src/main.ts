import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runService,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { learningSettings } from './config.js';
import { createLearningApp } from './app.js';
import type { Tx } from './data/db.js';
import { consumers } from './events/consumers.js';
import { startWorkers } from './workers/index.js';

const config = loadConfigOrExit(learningSettings);
const logger = createLogger('learning', config.logLevel);
const app = await createLearningApp(config, logger);
const relay = await startOutboxRelay({
  context: 'learning',
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  logger,
});
const consumed = await startConsumers({
  context: 'learning',
  consumers,
  natsUrl: config.natsUrl,
  transaction: prismaTransaction<Tx>(app.db),
  logger,
});
// FSRS optimisation (LEARNING_JOBS work queue), BKT fitting and the daily cards-due job.
const background = await startWorkers(config, app.db, logger);
// Consumers and background jobs stop before the relay: what they write to the outbox is still published on the next start.
await runService({
  name: 'learning subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: [consumed, ...background.inOrder, relay],
});
