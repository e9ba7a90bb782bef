/**
 * The one bootstrap every subgraph uses: its Redis client, its access-token verifier and its yoga
 * server, whose request context always carries the fields every subgraph shares (who is calling,
 * the request id, a logger tagged with it, the caller's trace) under the subgraph's own.
 *
 * Two steps, because a subgraph's domain objects may need the Redis client (identity's login
 * throttle) before its per-request context can name them:
 *
 *     const subgraph = createSubgraph({ config, logger, getKey: options.getKey });
 *     const yoga = subgraph.yoga<Context>({ schema, sdl: typeDefs, context: (base) => ({ db, loaders: createLoaders(db, base.viewer) }) });
 */
import type { GraphQLSchema } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { JWTVerifyGetKey } from 'jose';
import type { Redis } from 'ioredis';
import { createAuthVerifier, remoteJwks, type AuthContext, type AuthVerifier } from './auth.js';
import { isTraceparent } from './events/traceparent.js';
import type { Logger } from './logger.js';
import type { OperationLimitsConfig, OperationLimitsOptions } from './operation-limits/index.js';
import { serviceOf } from './metrics/registry.js';
import { createRedis } from './redis.js';
import { startTracing } from './tracing/sdk.js';
import { createServiceYoga } from './yoga/service-yoga.js';

/** What every subgraph's resolvers receive; each subgraph's Context extends it with its own fields. */
export interface SubgraphContext extends AuthContext {
  /** The gateway's `x-request-id`, or '' for a direct caller. */
  requestId: string;
  /** The service's logger, tagged with the request id. */
  logger: Logger;
  /**
   * The caller's W3C `traceparent`, passed into the events this request causes so the work they
   * start joins its trace; undefined when absent or malformed (a new trace is started instead).
   */
  traceparent: string | undefined;
}

/** The settings the bootstrap reads; every subgraph's config has them (commonSettings, jwksSetting). */
export interface SubgraphConfig extends OperationLimitsConfig {
  redisUrl: string;
  authIssuer: string;
  authAudience: string;
  /** Identity's JWKS; identity itself has none and passes `getKey`. */
  jwksUrl?: string;
}

export interface SubgraphOptions {
  config: SubgraphConfig;
  logger: Logger;
  /**
   * Resolves the keys that verify access tokens. Default: identity's JWKS at `config.jwksUrl`,
   * fetched and cached (`remoteJwks`). Identity passes its own signing keys (it is the issuer);
   * tests pass a key set of their own.
   */
  getKey?: JWTVerifyGetKey;
}

/** A subgraph's own context fields: its Context without the shared ones (and without the index signature). */
export type OwnContext<TContext> = {
  [
    K in keyof TContext as string extends K
      ? never
      : number extends K
        ? never
        : K extends keyof SubgraphContext
          ? never
          : K
  ]: TContext[K];
};

export interface SubgraphYogaOptions<TContext extends SubgraphContext & Record<string, unknown>> {
  schema: GraphQLSchema;
  /** The subgraph's SDL, for the operation limits' cost table. */
  sdl: OperationLimitsOptions['sdl'];
  /**
   * The subgraph's own per-request fields, given the shared ones (e.g. loaders keyed by the
   * viewer). Called once per request; a GraphQLError thrown here becomes the response's error.
   */
  context: (base: SubgraphContext, request: Request) => OwnContext<TContext> | Promise<OwnContext<TContext>>;
}

export interface Subgraph {
  /** The subgraph's Redis client (REDIS_URL): token revocation, and whatever else the subgraph keeps there. */
  redis: Redis;
  /** Verifies access tokens (signature, claims, revocation in Redis). */
  auth: AuthVerifier;
  /** The shared fields of a request's context. */
  baseContext(request: Request): Promise<SubgraphContext>;
  /** The subgraph's yoga server (kit error codes, operation limits from config) with the shared context fields. */
  yoga<TContext extends SubgraphContext & Record<string, unknown>>(
    options: SubgraphYogaOptions<TContext>,
  ): YogaServerInstance<Record<string, never>, TContext>;
}

export function createSubgraph({ config, logger, getKey }: SubgraphOptions): Subgraph {
  const keys = getKey ?? (config.jwksUrl ? remoteJwks(config.jwksUrl) : undefined);
  if (!keys)
    throw new Error('createSubgraph needs config.jwksUrl (IDENTITY_JWKS_URL) or getKey to verify access tokens.');
  // Traces, when the environment asks for them (TRACING, OTEL_EXPORTER_OTLP_ENDPOINT), named after the logger's service.
  startTracing(serviceOf(logger), logger);
  const redis = createRedis(config.redisUrl);
  const auth = createAuthVerifier({ getKey: keys, issuer: config.authIssuer, audience: config.authAudience, redis });

  async function baseContext(request: Request): Promise<SubgraphContext> {
    const requestId = request.headers.get('x-request-id') ?? '';
    // A malformed trace header is dropped, not stored: enqueueEvent would refuse it, failing the mutation.
    const traceparent = request.headers.get('traceparent');
    return {
      viewer: await auth.viewerFromRequest(request),
      requestId,
      logger: logger.child({ requestId }),
      traceparent: isTraceparent(traceparent) ? traceparent : undefined,
    };
  }

  return {
    redis,
    auth,
    baseContext,
    yoga: <TContext extends SubgraphContext & Record<string, unknown>>({
      schema,
      sdl,
      context,
    }: SubgraphYogaOptions<TContext>) =>
      createServiceYoga<TContext>({
        schema,
        logger,
        operationLimits: { config, sdl },
        context: async (request) => {
          const base = await baseContext(request);
          return { ...(await context(base, request)), ...base } as unknown as TContext;
        },
      }),
  };
}
