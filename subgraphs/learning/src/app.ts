/**
 * Builds the learning subgraph's HTTP side (database, Redis, yoga) without listening, so tests can
 * serve it in-process. Event processing (relay, consumers) and the FSRS optimiser are started by
 * main.ts.
 */
import {
  createSubgraph,
  dependencyProbes,
  requestNow,
  type Logger,
  type SubgraphOptions,
} from '@coursegraph/service-kit';
import type { LearningConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { schema, typeDefs } from './schema.js';

export interface LearningAppOptions {
  /** Resolves token verification keys. Default: identity's JWKS at config.jwksUrl (tests pass a local set). */
  getKey?: SubgraphOptions['getKey'];
}

export async function createLearningApp(config: LearningConfig, logger: Logger, options: LearningAppOptions = {}) {
  const db = createDb(config.databaseUrl);
  const subgraph = createSubgraph({ config, logger, getKey: options.getKey });

  const yoga = subgraph.yoga<Context>({
    schema,
    sdl: typeDefs,
    context: (_base, request) => ({
      db,
      loaders: createLoaders(db),
      now: requestNow(request, config.clockHeader),
    }),
  });

  return {
    handler: yoga,
    yoga,
    db,
    redis: subgraph.redis,
    ...dependencyProbes(db, subgraph.redis),
  };
}

export type LearningApp = Awaited<ReturnType<typeof createLearningApp>>;
