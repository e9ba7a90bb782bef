import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runSubgraph,
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
await runSubgraph({
  name: 'learning',
  logger,
  config,
  createApp: () => createLearningApp(config, logger),
  background: async (app) => [
    await startConsumers({
      context: 'learning',
      consumers,
      natsUrl: config.natsUrl,
      transaction: prismaTransaction<Tx>(app.db),
      logger,
    }),
    // FSRS optimisation (LEARNING_JOBS work queue), BKT fitting and the daily cards-due job.
    ...(await startWorkers(config, app.db, logger)).inOrder,
    // Last to stop: what the consumers and jobs write to the outbox is still published on the next start.
    await startOutboxRelay({ context: 'learning', databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger }),
  ],
});
