/**
 * What keeps every error a client sees within the fixed code set (errors.ts): yoga's error masking
 * for unexpected errors, and a plugin for the request-level errors yoga and graphql-js raise.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../errors.js';

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
