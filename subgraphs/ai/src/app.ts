/**
 * Builds the ai subgraph's HTTP side (database, Redis, providers, the model router, the tutor and
 * the generator, yoga) without listening, so tests can serve it in-process. Event processing and the
 * generation scan are started by main.ts.
 */
import { FlagsEvents } from '@coursegraph/contracts';
import {
  createSubgraph,
  dependencyProbes,
  startFlags,
  type Flags,
  type Logger,
  type SubgraphOptions,
} from '@coursegraph/service-kit';
import type { AiConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createRetrievalIndex } from './data/retrieval-index.js';
import { createGenerator } from './domain/generation.js';
import { createModelRouter } from './domain/model-router.js';
import { createHashedEmbedding } from './domain/retrieval/hashed-embedding.js';
import { createBudgets } from './domain/routing/budget.js';
import { tierTable } from './domain/routing/tiers.js';
import { createTutor } from './domain/tutoring.js';
import { createAnthropicProvider } from './providers/anthropic.js';
import { createDeterministicProvider } from './providers/deterministic.js';
import { createHttpEmbeddingProvider } from './providers/http-embeddings.js';
import type { EmbeddingProvider, ModelProvider } from './providers/provider.js';
import { schema, typeDefs } from './schema.js';

export interface AiAppOptions {
  /** Resolves token verification keys. Default: identity's JWKS at config.jwksUrl (tests pass a local set). */
  getKey?: SubgraphOptions['getKey'];
  /** The platform's flags. Default: a client of the flags subgraph at config.flagsUrl. */
  flags?: Flags;
}

const micro = (usd: number) => Math.round(usd * 1_000_000);

function embeddingOf(config: AiConfig): EmbeddingProvider {
  if (config.embedding === 'hashed') return createHashedEmbedding({ dimensions: config.embeddingDimensions });
  return createHttpEmbeddingProvider({
    url: config.embeddingUrl,
    apiKey: config.embeddingApiKey,
    model: config.embeddingModel,
    dimensions: config.embeddingDimensions,
    timeoutMs: config.modelTimeoutMs,
  });
}

export async function createAiApp(config: AiConfig, logger: Logger, options: AiAppOptions = {}) {
  const db = createDb(config.databaseUrl);
  const subgraph = createSubgraph({ config, logger, getKey: options.getKey });
  const deterministic = createDeterministicProvider();
  const provider: ModelProvider =
    config.provider === 'anthropic'
      ? createAnthropicProvider({
          apiKey: config.anthropicApiKey,
          baseURL: config.anthropicBaseUrl,
          maxRetryWaitMs: config.maxRetryWaitMs,
        })
      : deterministic;
  const budgets = createBudgets(subgraph.redis, {
    perUserDailyMicroUsd: micro(config.userDailyBudgetUsd),
    globalDailyMicroUsd: micro(config.globalDailyBudgetUsd),
    logger,
  });
  const courseBudgets = createBudgets(subgraph.redis, {
    keyPrefix: 'ai:budget:courses',
    perUserDailyMicroUsd: micro(config.courseDailyBudgetUsd),
    globalDailyMicroUsd: micro(config.generationDailyBudgetUsd),
    logger,
  });
  const router = createModelRouter({
    db,
    provider,
    deterministic,
    tiers: tierTable(config),
    budgets,
    courseBudgets,
    timeoutMs: config.modelTimeoutMs,
    logger,
  });
  const retrieval = createRetrievalIndex(db, embeddingOf(config));
  const flags =
    options.flags ??
    (await startFlags({
      service: 'ai',
      flagsUrl: config.flagsUrl,
      signingSecret: config.internalSigningSecret,
      natsUrl: config.natsUrl,
      logger,
      changeEvent: FlagsEvents.changed,
      exposureEvent: FlagsEvents.exposureReported,
      refreshMs: config.flagsRefreshMs,
      exposureReportMs: config.flagsExposureReportMs,
    }));
  const tutor = createTutor({ db, router, retrieval, logger, maxMessageChars: config.maxMessageChars, flags });
  const generator = createGenerator({ db, router, logger });
  const ai = { tutor, generator, budgets, courseBudgets, userDailyBudgetMicroUsd: micro(config.userDailyBudgetUsd) };

  const yoga = subgraph.yoga<Context>({ schema, sdl: typeDefs, context: () => ({ db, ai }) });
  const probes = dependencyProbes(db, subgraph.redis);
  return {
    handler: yoga,
    yoga,
    db,
    redis: subgraph.redis,
    ai,
    flags,
    ready: probes.ready,
    // Replies being written finish before the pools close.
    close: async () => {
      await tutor.drain();
      if (!options.flags) await flags.close();
      await probes.close();
    },
  };
}

export type AiApp = Awaited<ReturnType<typeof createAiApp>>;
