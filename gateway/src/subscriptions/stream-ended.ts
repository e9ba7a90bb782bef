/**
 * Why the gateway ends a subscription before its client asks, and the error the client gets for
 * it. The reason is not an error code: the client sees one of the kit's fixed codes, with the
 * reason in `extensions.reason` (`{ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' }`).
 */
import type { GraphQLError } from 'graphql';
import { ErrorCode, appError } from '@coursegraph/service-kit';

export type StreamEndReason =
  'SLOW_SUBSCRIBER' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED' | 'SHUTTING_DOWN' | 'STREAM_FAILED' | 'SCHEMA_CHANGED';

/** What a client is told when the stream it reads fails (NATS): reconnecting resumes it. */
export const STREAM_FAILED_MESSAGE = 'The event stream failed; reconnect with your last position.';

/**
 * The kit's code for each reason: the caller's token (sign in again), its own pace, the gateway, or
 * the operation itself (SCHEMA_CHANGED: a reloaded supergraph no longer serves what it selects, as a
 * new subscription with it would be refused).
 */
const CODE_BY_REASON: Record<StreamEndReason, ErrorCode> = {
  TOKEN_EXPIRED: ErrorCode.UNAUTHENTICATED,
  TOKEN_REVOKED: ErrorCode.UNAUTHENTICATED,
  SLOW_SUBSCRIBER: ErrorCode.RATE_LIMITED,
  SHUTTING_DOWN: ErrorCode.INTERNAL,
  STREAM_FAILED: ErrorCode.INTERNAL,
  SCHEMA_CHANGED: ErrorCode.BAD_USER_INPUT,
};

/** The stream's last word to its client: the message, the kit code for `reason`, and the reason. */
export function streamEndedError(reason: StreamEndReason, message: string): GraphQLError {
  return appError(CODE_BY_REASON[reason], message, { reason });
}

/** A subscription ended by the gateway (thrown by the hub's `next()`, passed to `onEnded`). */
export class StreamEnded extends Error {
  override name = 'StreamEnded';
  constructor(
    message: string,
    readonly reason: StreamEndReason,
  ) {
    super(message);
  }

  /** What the client is sent. */
  toGraphQLError(): GraphQLError {
    return streamEndedError(this.reason, this.message);
  }
}
