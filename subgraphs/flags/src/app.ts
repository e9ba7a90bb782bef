/**
 * Builds the flags subgraph (database, Redis, yoga, the services' internal route) without listening,
 * so tests can serve it in-process; main.ts serves it with the outbox relay and the exposure consumer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSubgraph, dependencyProbes, type Logger, type SubgraphOptions } from '@coursegraph/service-kit';
import type { FlagsConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createFlags } from './domain/flags.js';
import { flagsRoute } from './internal-route.js';
import { schema, typeDefs } from './schema.js';

export interface FlagsAppOptions {
  /** Resolves token verification keys. Default: identity's JWKS at config.jwksUrl (tests pass a local set). */
  getKey?: SubgraphOptions['getKey'];
}

export async function createFlagsApp(config: FlagsConfig, logger: Logger, options: FlagsAppOptions = {}) {
  const db = createDb(config.databaseUrl);
  const subgraph = createSubgraph({ config, logger, getKey: options.getKey });
  const flags = createFlags(db);
  const yoga = subgraph.yoga<Context>({ schema, sdl: typeDefs, context: () => ({ db, flags }) });
  const route = flagsRoute(flags, config.internalSigningSecret, logger);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (route(req, res)) return;
    return yoga(req, res);
  };
  return { handler, yoga, db, flags, redis: subgraph.redis, ...dependencyProbes(db, subgraph.redis) };
}

export type FlagsApp = Awaited<ReturnType<typeof createFlagsApp>>;
