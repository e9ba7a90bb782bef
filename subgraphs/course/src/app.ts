/**
 * Builds the course subgraph (database, Redis, auth, yoga) without listening, so tests can serve it
 * in-process; main.ts serves it and runs the outbox relay.
 */
import {
  createAuthVerifier, createRedis, createServiceYoga, dependencyProbes, isTraceparent, remoteJwks, type AuthVerifierOptions, type Logger,
} from '@coursegraph/service-kit';
import type { CourseConfig } from './config.js';
import type { Context } from './context.js';
import { createDb } from './data/db.js';
import { createLoaders } from './data/loaders.js';
import { Authoring } from './domain/authoring.js';
import { Outline } from './domain/outline.js';
import { Publishing } from './domain/publishing.js';
import { schema, typeDefs } from './schema.js';

export interface CourseAppOptions {
  /** Resolves token verification keys. Default: identity's JWKS at config.jwksUrl (tests pass a local set). */
  getKey?: AuthVerifierOptions['getKey'];
  /** Database pool size. Default 10. */
  poolSize?: number;
  /** Called with every SQL statement the app runs. Default: none. */
  onQuery?: (sql: string) => void;
}

export async function createCourseApp(config: CourseConfig, logger: Logger, options: CourseAppOptions = {}) {
  const db = createDb(config.databaseUrl, options.poolSize, options.onQuery);
  const redis = createRedis(config.redisUrl);
  const auth = createAuthVerifier({
    getKey: options.getKey ?? remoteJwks(config.jwksUrl),
    issuer: config.authIssuer,
    audience: config.authAudience,
    redis,
  });
  const authoring = new Authoring(db);
  const outline = new Outline(db);
  const publishing = new Publishing(db);

  const yoga = createServiceYoga<Context>({
    schema,
    logger,
    operationLimits: { config, sdl: typeDefs },
    context: async (request) => {
      const requestId = request.headers.get('x-request-id') ?? '';
      const traceparent = request.headers.get('traceparent') ?? undefined;
      const viewer = await auth.viewerFromRequest(request);
      return {
        viewer,
        requestId,
        logger: logger.child({ requestId }),
        db,
        authoring,
        outline,
        publishing,
        loaders: createLoaders(db, viewer?.userId ?? null),
        traceparent: isTraceparent(traceparent) ? traceparent : undefined,
      };
    },
  });

  return {
    handler: yoga,
    yoga,
    db,
    redis,
    authoring,
    outline,
    publishing,
    ...dependencyProbes(db, redis),
  };
}

export type CourseApp = Awaited<ReturnType<typeof createCourseApp>>;
