/**
 * Builds the notification subgraph's HTTP side (database, Redis, yoga) without listening, so tests
 * can serve it in-process. Event processing, the mail sender and the digest job are started by
 * main.ts (workers.ts).
 */
import { createSubgraph, dependencyProbes, type Logger, type SubgraphOptions } from '@coursegraph/service-kit';
import type { NotificationConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { schema, typeDefs } from './schema.js';

export interface NotificationAppOptions {
  /** Resolves token verification keys. Default: identity's JWKS at config.jwksUrl (tests pass a local set). */
  getKey?: SubgraphOptions['getKey'];
}

export async function createNotificationApp(
  config: NotificationConfig,
  logger: Logger,
  options: NotificationAppOptions = {},
) {
  const db = createDb(config.databaseUrl);
  const subgraph = createSubgraph({ config, logger, getKey: options.getKey });

  // Its mutations (read marks, preferences) cause no events; consumers carry each event's own trace.
  const yoga = subgraph.yoga<Context>({ schema, sdl: typeDefs, context: () => ({ db, loaders: createLoaders(db) }) });

  return {
    handler: yoga,
    yoga,
    db,
    redis: subgraph.redis,
    ...dependencyProbes(db, subgraph.redis),
  };
}

export type NotificationApp = Awaited<ReturnType<typeof createNotificationApp>>;
