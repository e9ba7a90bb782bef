/**
 * The one way a service builds its yoga app: errors masked to the fixed code set (internals are
 * logged with the request id, never sent), logs through the service's JSON logger.
 */
import type { GraphQLSchema } from 'graphql';
import { createYoga, type YogaServerInstance, type YogaServerOptions } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import { useGraphqlMetrics, type GraphqlMetricsOptions } from '../metrics/graphql.js';
import { useOperationLimits, type OperationLimitsOptions } from '../operation-limits/index.js';
import { tracingEnabled } from '../tracing/sdk.js';
import { useServerSpan } from '../tracing/yoga.js';
import { maskUnexpectedError, useFixedErrorCodes } from './fixed-error-codes.js';
import { useJsonPostOnly } from './json-post-only.js';
import { MAX_REQUEST_BODY_BYTES, useRequestBodyLimit } from './request-body-limit.js';

export interface ServiceYogaOptions<TContext extends Record<string, unknown>> {
  schema: GraphQLSchema;
  logger: Logger;
  /** Builds the per-request context; a GraphQLError thrown here becomes the response's error. */
  context: (request: Request) => Promise<TContext>;
  /** The service's own plugins, run after the operation limits and before the body limit. Default: none. */
  plugins?: YogaServerOptions<Record<string, never>, TContext>['plugins'];
  /** Served path. Default `/graphql`. */
  graphqlEndpoint?: string;
  /** GraphiQL on GET from a browser. Default false: subgraphs are not for people. */
  graphiql?: YogaServerOptions<Record<string, never>, TContext>['graphiql'];
  /**
   * CORS: yoga's options, or a function of the request returning them (false: no CORS headers, so
   * browsers keep other origins out). Default false: subgraphs are not for browsers.
   */
  cors?: YogaServerOptions<Record<string, never>, TContext>['cors'];
  /**
   * Operation limits (tokens, depth, recursion, aliases, root fields, cost by caller), applied
   * before the service's own plugins, so nothing they run (an executor included) sees a refused
   * operation. Default: none; every service passes its config and its SDL.
   */
  operationLimits?: OperationLimitsOptions;
  /** How the request metrics label operations (metrics/graphql.ts). Default: by the project's persisted operations. */
  metrics?: Omit<GraphqlMetricsOptions, 'logger'>;
}

/** A service's yoga app: the kit's plugins (metrics, error codes, CSRF, operation and body limits) around its own. */
export function createServiceYoga<TContext extends Record<string, unknown>>(
  options: ServiceYogaOptions<TContext>,
): YogaServerInstance<Record<string, never>, TContext> {
  const { logger } = options;
  return createYoga<Record<string, never>, TContext>({
    schema: options.schema,
    graphqlEndpoint: options.graphqlEndpoint ?? '/graphql',
    graphiql: options.graphiql ?? false,
    cors: options.cors ?? false,
    landingPage: false,
    // Our own probes (/healthz, /readyz) are served by the bootstrap.
    healthCheckEndpoint: '/yoga-health',
    context: ({ request }) => options.context(request),
    // Our own limit instead (useRequestBodyLimit), last among the plugins so it wraps the chosen parser.
    maxRequestBodySize: false,
    maskedErrors: { maskError: maskUnexpectedError(logger), errorMessage: 'Unexpected error.' },
    logging: {
      debug: (...args) => logger.debug({ args }, 'yoga'),
      info: (...args) => logger.info({ args }, 'yoga'),
      warn: (...args) => logger.warn({ args }, 'yoga'),
      error: (...args) => logger.error({ args }, 'yoga'),
    },
    plugins: [
      // Traced, the request's server span wraps everything below (tracing/yoga.ts).
      ...(tracingEnabled() ? [useServerSpan(options.graphqlEndpoint ?? '/graphql')] : []),
      // First: its clock starts before any other plugin's work, and it sees every answer's status.
      useGraphqlMetrics({ logger, ...options.metrics }),
      useFixedErrorCodes(),
      useJsonPostOnly(),
      ...(options.operationLimits ? [useOperationLimits<TContext>(options.operationLimits)] : []),
      ...(options.plugins ?? []),
      useRequestBodyLimit(MAX_REQUEST_BODY_BYTES),
    ],
  });
}
