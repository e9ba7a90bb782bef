import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runSubgraph,
  startConsumers,
  startOutboxRelay,
} from '@coursegraph/service-kit';
import { courseSettings } from './config.js';
import { createCourseApp } from './app.js';
import { CONTEXT } from './domain/events.js';
import type { Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

const config = loadConfigOrExit(courseSettings);
const logger = createLogger('course', config.logLevel);
await runSubgraph({
  name: 'course',
  logger,
  config,
  createApp: () => createCourseApp(config, logger),
  background: async (app) => [
    // Learns entitlements from enrollment's events (stream ENROLLMENT), lesson videos and captions from video's (VIDEO).
    await startConsumers({
      context: CONTEXT,
      consumers,
      natsUrl: config.natsUrl,
      transaction: prismaTransaction<Tx>(app.db),
      logger,
    }),
    // Publishes what publications and archivals wrote to the outbox, to the COURSE stream.
    await startOutboxRelay({ context: CONTEXT, databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger }),
  ],
});
