/**
 * The one way a service builds its yoga app: errors masked to the fixed code set (internals are
 * logged with the request id, never sent), logs through the service's JSON logger.
 */
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance, type YogaServerOptions } from 'graphql-yoga';
import type { Logger } from './logger.js';
import { ErrorCode } from './errors.js';
import { useOperationLimits, type OperationLimitsOptions } from './operation-limits/index.js';

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
}

const FIXED_CODES = new Set<string>(Object.values(ErrorCode));

/** The largest request body a service reads (GraphQL operations and their variables). */
export const MAX_REQUEST_BODY_BYTES = 1_000_000;

const bodyTooLarge = () =>
  new GraphQLError(`The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'PAYLOAD_TOO_LARGE', http: { status: 413 } },
  });

/**
 * Refuses request bodies over `limit` bytes. Yoga's own limit pipes every body through a
 * TransformStream to count it, which cost the gateway about a tenth of its CPU under load; a body
 * that declares its Content-Length is held to it by Node's HTTP parser, so checking the header
 * is enough, and only a chunked body (no Content-Length) is counted as it streams.
 */
export function useRequestBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!/^\d+$/.test(declared)) {
          throw new GraphQLError('The Content-Length header is not a length.', {
            extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } },
          });
        }
        if (Number(declared) > limit) throw bodyTooLarge();
        return;
      }
      if (!requestParser || !request.body) return;
      let read = 0;
      // A native stream needs the native TransformStream; whatwg-node's own streams need its ponyfill.
      const Transform = request.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
      const counted = request.body.pipeThrough(
        new Transform<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            read += chunk.byteLength;
            if (read > limit) controller.error(bodyTooLarge());
            else controller.enqueue(chunk);
          },
        }),
      );
      const parse = requestParser;
      const init = {
        method: request.method,
        headers: request.headers,
        signal: request.signal,
        body: counted,
        duplex: 'half',
      };
      setRequestParser((req) => parse(new fetchAPI.Request(req.url, init as RequestInit)));
    },
  };
}

/** Media types a POST may carry: JSON or GraphQL. A browser cannot send any of them cross-site without a CORS preflight. */
export const POST_CONTENT_TYPES = [
  'application/json',
  'application/graphql-response+json',
  'application/graphql',
  'application/graphql+json',
];

/**
 * CSRF prevention: a POST must declare a JSON or GraphQL content type. The types an HTML form (or a
 * `no-cors` fetch) can send without a preflight (form-encoded, multipart, text/plain) are refused
 * with 415 before anything is parsed or executed, so a cross-site page cannot make a browser run an
 * operation with whatever credentials it carries. GET stays for queries (yoga refuses mutations
 * over GET with 405).
 */
export function useJsonPostOnly(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST') return;
      const declared = request.headers.get('content-type') ?? '';
      const mediaType = declared.split(';')[0]!.trim().toLowerCase();
      if (POST_CONTENT_TYPES.includes(mediaType)) return;
      throw new GraphQLError(
        `POST requests must send Content-Type: application/json (or a GraphQL media type); ${mediaType ? `"${mediaType}"` : 'none'} is not accepted.`,
        { extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } } },
      );
    },
  };
}

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
 * Keeps every error a client sees within the fixed code set (docs/architecture.md, Conventions). Request-level errors
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
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions,
    });
  };
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !result || typeof result !== 'object' || !('errors' in result) || !result.errors)
        return;
      setResult({
        ...result,
        errors: result.errors.map((e) =>
          normalise(e instanceof GraphQLError ? e : new GraphQLError(String((e as Error).message))),
        ),
      });
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
      useFixedErrorCodes(),
      useJsonPostOnly(),
      ...(options.operationLimits ? [useOperationLimits<TContext>(options.operationLimits)] : []),
      ...(options.plugins ?? []),
      useRequestBodyLimit(MAX_REQUEST_BODY_BYTES),
    ],
  });
}

export type { Plugin };
