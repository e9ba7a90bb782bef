/**
 * The one way a service builds its yoga app: errors masked to the fixed code set (internals are
 * logged with the request id, never sent), logs through the service's JSON logger.
 */
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance, type YogaServerOptions } from 'graphql-yoga';
import type { Logger } from './logger.js';
import { ErrorCode } from './errors.js';

export interface ServiceYogaOptions<TContext extends Record<string, unknown>> {
  schema: GraphQLSchema;
  logger: Logger;
  /** Builds the per-request context; a GraphQLError thrown here becomes the response's error. */
  context: (request: Request) => Promise<TContext>;
  plugins?: YogaServerOptions<Record<string, never>, TContext>['plugins'];
  /** Served path. Default `/graphql`. */
  graphqlEndpoint?: string;
  /** GraphiQL on GET from a browser. Default false: subgraphs are not for people. */
  graphiql?: YogaServerOptions<Record<string, never>, TContext>['graphiql'];
}

const FIXED_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Turns an unexpected error into INTERNAL (logged with its stack, never sent), keeping deliberate
 * errors: GraphQL errors raised as such, and errors that already carry a code of the fixed set
 * (for example a subgraph's error relayed by the gateway).
 */
export function maskUnexpectedError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    if (error instanceof GraphQLError) {
      const cause = error.originalError;
      if (!cause || cause instanceof GraphQLError || FIXED_CODES.has(String(error.extensions?.code))) return error;
      logger.error({ err: cause, path: error.path }, 'unexpected error in resolver');
      return new GraphQLError(message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: { code: ErrorCode.INTERNAL },
      });
    }
    logger.error({ err: error }, 'unexpected error');
    return new GraphQLError(message, { extensions: { code: ErrorCode.INTERNAL } });
  };
}

/**
 * Keeps every error a client sees within the fixed code set (DESIGN.md §6). Request-level errors
 * that yoga and graphql-js raise with their own codes (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
 * BAD_REQUEST) become BAD_USER_INPUT with that code kept as `reason`; internal detail is dropped.
 */
export function useFixedErrorCodes(): Plugin {
  const normalise = (error: GraphQLError): GraphQLError => {
    const { code, http, originalError: _internal, serviceName: _service, ...rest } = error.extensions ?? {};
    const known = typeof code === 'string' && FIXED_CODES.has(code);
    const extensions: Record<string, unknown> = {
      ...rest,
      code: known ? code : error.path ? ErrorCode.INTERNAL : ErrorCode.BAD_USER_INPUT,
      ...(known || code === undefined ? {} : { reason: code }),
      // Yoga reads `http` for the status code and strips it from the body.
      ...(http ? { http } : {}),
    };
    return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions });
  };
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !result || typeof result !== 'object' || !('errors' in result) || !result.errors) return;
      setResult({ ...result, errors: result.errors.map((e) => normalise(e instanceof GraphQLError ? e : new GraphQLError(String((e as Error).message)))) });
    },
  };
}

export function createServiceYoga<TContext extends Record<string, unknown>>(
  options: ServiceYogaOptions<TContext>,
): YogaServerInstance<Record<string, never>, TContext> {
  const { logger } = options;
  return createYoga<Record<string, never>, TContext>({
    schema: options.schema,
    graphqlEndpoint: options.graphqlEndpoint ?? '/graphql',
    graphiql: options.graphiql ?? false,
    landingPage: false,
    // Our own probes (/healthz, /readyz) are served by the bootstrap.
    healthCheckEndpoint: '/yoga-health',
    context: ({ request }) => options.context(request),
    maskedErrors: { maskError: maskUnexpectedError(logger), errorMessage: 'Unexpected error.' },
    logging: {
      debug: (...args) => logger.debug({ args }, 'yoga'),
      info: (...args) => logger.info({ args }, 'yoga'),
      warn: (...args) => logger.warn({ args }, 'yoga'),
      error: (...args) => logger.error({ args }, 'yoga'),
    },
    plugins: [useFixedErrorCodes(), ...(options.plugins ?? [])],
  });
}

export type { Plugin };
