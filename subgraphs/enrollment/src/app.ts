/**
 * Builds the enrollment subgraph's HTTP side (database, Redis, yoga) without listening, so tests can
 * serve it in-process. Event processing (relay, consumers) is started by main.ts (events/workers.ts).
 */
import { createAuthVerifier, createRedis, createServiceYoga, remoteJwks, type Logger, dependencyProbes } from '@coursegraph/service-kit';
import type { JWTVerifyGetKey } from 'jose';
import type { EnrollmentConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { Enrollments } from './domain/enrollments.js';
import { schema, typeDefs } from './schema.js';

export async function createEnrollmentApp(config: EnrollmentConfig, logger: Logger, options: { getKey?: JWTVerifyGetKey } = {}) {
  const db = createDb(config.databaseUrl);
  const redis = createRedis(config.redisUrl);
  const enrollments = new Enrollments(db);
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
      return { viewer, requestId, logger: logger.child({ requestId }), db, enrollments, loaders: createLoaders(db, viewer?.userId ?? null) };
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

export type EnrollmentApp = Awaited<ReturnType<typeof createEnrollmentApp>>;
