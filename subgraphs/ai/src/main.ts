import {
  createLogger,
  loadConfigOrExit,
  prismaTransaction,
  runSubgraph,
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
// Work a stopped process left half-done (any replica's: only what is older than any reply or run
// takes): replies are marked FAILED, generation runs released so their text is generated again. A
// run makes at most six model calls (two tasks, three tiers), each within AI_MODEL_TIMEOUT_MS.
const ABANDONED_AFTER_MS = Math.max(5 * 60_000, 8 * config.modelTimeoutMs);

await runSubgraph({
  name: 'ai',
  logger,
  config,
  createApp: () => createAiApp(config, logger),
  background: async (app) => [
    await startConsumers({
      context: 'ai',
      consumers,
      natsUrl: config.natsUrl,
      transaction: prismaTransaction<Tx>(app.db),
      logger,
    }),
    startPeriodicJob(
      'abandoned-work',
      60_000,
      async () => {
        const before = new Date(Date.now() - ABANDONED_AFTER_MS);
        const replies = await app.ai.tutor.failAbandoned(before);
        const runs = await app.ai.generator.releaseStaleRuns(before);
        if (replies + runs > 0)
          logger.warn({ replies, runs }, 'work left unfinished by a stopped process was released');
      },
      logger,
    ),
    // Flashcards and quiz items for lessons whose published text no run has covered yet.
    ...(config.generateOnPublish
      ? [
          startPeriodicJob(
            'generation-at-publication',
            config.generationScanMs,
            () => app.ai.generator.generatePublished(20, new Date()),
            logger,
          ),
        ]
      : []),
    // Last to stop: what the consumers and jobs write to the outbox is still published on the next start.
    await startOutboxRelay({ context: 'ai', databaseUrl: config.databaseUrl, natsUrl: config.natsUrl, logger }),
  ],
});
