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
// Work a stopped process left half-done (any replica's: only what is older than any reply or run
// takes): replies are marked FAILED, generation runs released so their text is generated again. A
// run makes at most six model calls (two tasks, three tiers), each within AI_MODEL_TIMEOUT_MS.
const ABANDONED_AFTER_MS = Math.max(5 * 60_000, 8 * config.modelTimeoutMs);
const cleanup = startPeriodicJob(
  'abandoned-work',
  60_000,
  async () => {
    const before = new Date(Date.now() - ABANDONED_AFTER_MS);
    const replies = await app.ai.tutor.failAbandoned(before);
    const runs = await app.ai.generator.releaseStaleRuns(before);
    if (replies + runs > 0) logger.warn({ replies, runs }, 'work left unfinished by a stopped process was released');
  },
  logger,
);
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
  workers: [consumed, cleanup, ...generation, relay],
});
