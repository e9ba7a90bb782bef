import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runService,
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
const app = await createCourseApp(config, logger);
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
  transaction: prismaTransaction<Tx>(app.db),
  logger,
});
await runService({
  name: 'course subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: [consumed, relay],
});
