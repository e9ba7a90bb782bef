/**
 * Builds the notification subgraph's HTTP side (database, Redis, yoga) without listening, so tests
 * can serve it in-process. Event processing, the mail sender and the digest job are started by
 * main.ts (workers.ts).
 */
import { createAuthVerifier, createRedis, createServiceYoga, remoteJwks, type Logger, dependencyProbes } from '@coursegraph/service-kit';
import type { JWTVerifyGetKey } from 'jose';
import type { NotificationConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { schema, typeDefs } from './schema.js';

export async function createNotificationApp(config: NotificationConfig, logger: Logger, options: { getKey?: JWTVerifyGetKey } = {}) {
  const db = createDb(config.databaseUrl);
  const redis = createRedis(config.redisUrl);
  const auth = createAuthVerifier({
    getKey: options.getKey ?? remoteJwks(config.jwksUrl),
    issuer: config.authIssuer,
    audience: config.authAudience,
    redis,
  });

  const yoga = createServiceYoga<Context>({
    schema,
    logger,
    operationLimits: { config, sdl: typeDefs },
    context: async (request) => {
      const requestId = request.headers.get('x-request-id') ?? '';
      const viewer = await auth.viewerFromRequest(request);
      return { viewer, requestId, logger: logger.child({ requestId }), db, loaders: createLoaders(db) };
    },
  });

  return {
    handler: yoga,
    yoga,
    db,
    redis,
    ...dependencyProbes(db, redis),
  };
}

export type NotificationApp = Awaited<ReturnType<typeof createNotificationApp>>;
