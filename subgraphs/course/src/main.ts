import { createLogger, loadConfigOrExit, runService, startOutboxRelay } from '@coursegraph/service-kit';
import { courseSettings } from './config.js';
import { createCourseApp } from './app.js';
import { CONTEXT } from './domain/events.js';

const config = loadConfigOrExit(courseSettings);
const logger = createLogger('course', config.logLevel);
const app = await createCourseApp(config, logger);
// Publishes what publications and archivals wrote to the outbox, to the COURSE stream.
const relay = await startOutboxRelay({ context: CONTEXT, databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger });
await runService({ name: 'course subgraph', logger, port: config.port, app, workers: [relay] });
