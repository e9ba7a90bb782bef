/**
 * Builds the enrollment subgraph's HTTP side (database, Redis, yoga) without listening, so tests can
 * serve it in-process. Event processing (relay, consumers) is started by main.ts (events/workers.ts).
 */
import { createSubgraph, dependencyProbes, type Logger, type SubgraphOptions } from '@coursegraph/service-kit';
import type { EnrollmentConfig } from './config.js';
import type { Context } from './context.js';
import { createDatabase } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { Enrollments } from './domain/enrollments.js';
import { schema, typeDefs } from './schema.js';

export interface EnrollmentAppOptions {
  /** Resolves token verification keys. Default: identity's JWKS at config.jwksUrl (tests pass a local set). */
  getKey?: SubgraphOptions['getKey'];
}

export async function createEnrollmentApp(
  config: EnrollmentConfig,
  logger: Logger,
  options: EnrollmentAppOptions = {},
) {
  const { db, sql } = createDatabase(config.databaseUrl, { hotReads: config.hotReads });
  const subgraph = createSubgraph({ config, logger, getKey: options.getKey });
  const enrollments = new Enrollments(db);

  const yoga = subgraph.yoga<Context>({
    schema,
    sdl: typeDefs,
    context: (base) => ({ db, sql, enrollments, loaders: createLoaders(db, sql, base.viewer?.userId ?? null) }),
  });

  return {
    handler: yoga,
    yoga,
    db,
    redis: subgraph.redis,
    ...dependencyProbes(db, subgraph.redis),
  };
}

export type EnrollmentApp = Awaited<ReturnType<typeof createEnrollmentApp>>;
