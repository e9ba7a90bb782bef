import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runService,
  startConsumers,
  startOutboxRelay,
  startPeriodicJob,
} from '@coursegraph/service-kit';
import { aiSettings, checkAiConfig } from './config.js';
import { createAiApp } from './app.js';
import type { Tx } from './data/db.js';
import { consumers } from './events/consumers.js';

const config = loadConfigOrExit(aiSettings, process.env, checkAiConfig);
const logger = createLogger('ai', config.logLevel);
const app = await createAiApp(config, logger);
// Replies a stopped process left half-written cannot be finished: they are marked FAILED.
const abandoned = await app.ai.tutor.failAbandoned(new Date());
if (abandoned > 0) logger.warn({ abandoned }, 'tutor replies left unfinished by the last run were marked FAILED');
const relay = await startOutboxRelay({
  context: 'ai',
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  logger,
});
const consumed = await startConsumers({
  context: 'ai',
  consumers,
  natsUrl: config.natsUrl,
  transaction: prismaTransaction<Tx>(app.db),
  logger,
});
// Flashcards and quiz items for lessons whose published text no run has covered yet.
const generation = config.generateOnPublish
  ? [
      startPeriodicJob(
        'generation-at-publication',
        config.generationScanMs,
        () => app.ai.generator.generatePublished(20, new Date()),
        logger,
      ),
    ]
  : [];
// Consumers and jobs stop before the relay: what they write to the outbox is still published on the next start.
await runService({
  name: 'ai subgraph',
  logger,
  port: config.port,
  host: config.httpHost,
  app,
  workers: [consumed, ...generation, relay],
});
