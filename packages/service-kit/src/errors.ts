import { GraphQLError } from 'graphql';

/** The one fixed set of error codes a client can see (docs/architecture.md, Conventions). */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  RATE_LIMITED: 'RATE_LIMITED',
  /** A subgraph was down, slow or circuit-broken: the fields it owns are null (`extensions.subgraph` names it). */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A client-facing error. Only errors made here keep their message; anything else thrown in a
 * resolver is masked as INTERNAL by the server bootstrap, so internals never leak.
 */
export function appError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badInput = (message: string, field?: string) =>
  appError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
export const unauthenticated = (message = 'Sign in to do this.') => appError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'You are not allowed to do this.') => appError(ErrorCode.FORBIDDEN, message);
export const notFound = (message: string) => appError(ErrorCode.NOT_FOUND, message);
export const conflict = (message: string, field?: string) =>
  appError(ErrorCode.CONFLICT, message, field ? { field } : {});
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  appError(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds });

/** True for errors deliberately raised for the client (as opposed to bugs and outages). */
export function isAppError(err: unknown): err is GraphQLError {
  return (
    err instanceof GraphQLError &&
    typeof err.extensions?.code === 'string' &&
    err.extensions.code !== ErrorCode.INTERNAL
  );
}
