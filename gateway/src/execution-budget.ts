/**
 * The execution budget of one request at the gateway: a deadline for the whole request, and the
 * guard around every subgraph call (its circuit breaker, the deadline, the fetch limits of
 * subgraph-fetch.ts). A call that fails for want of the subgraph does not fail the request: it
 * answers with one `SUBGRAPH_UNAVAILABLE` error naming the subgraph and no data, so the planner
 * leaves that subgraph's fields null and the rest of the answer arrives.
 */
import { setMaxListeners } from 'node:events';
import type { GraphQLError } from 'graphql';
import type { RemoteGraphQLDataSource } from '@apollo/gateway';
import { ErrorCode, type Logger, type Plugin } from '@coursegraph/service-kit';
import type { CircuitBreaker } from './circuit-breaker.js';
import { recordSubgraphFetch, type SubgraphFetchOutcome } from './metrics.js';
import { SubgraphFetchError } from './subgraph-fetch.js';

type SubgraphResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

/** Default of GATEWAY_REQUEST_TIMEOUT_MS. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Why a subgraph's fields are null (`extensions.reason` of SUBGRAPH_UNAVAILABLE). */
export type UnavailableReason =
  /** It did not answer within the subgraph timeout. */
  | 'TIMEOUT'
  /** It refused or dropped the connection. */
  | 'UNREACHABLE'
  /** It answered with a 5xx status or an unreadable body. */
  | 'SERVER_ERROR'
  /** Its answer was larger than the gateway reads. */
  | 'RESPONSE_TOO_LARGE'
  /** Its circuit is open after repeated failures: not even tried. */
  | 'CIRCUIT_OPEN'
  /** The whole request ran out of time first. */
  | 'REQUEST_TIMEOUT';

/** The error a client sees: the subgraph by name, why, and nothing internal (no URL, no errno). */
export function unavailableError(subgraph: string, reason: UnavailableReason) {
  const message =
    reason === 'RESPONSE_TOO_LARGE'
      ? `The ${subgraph} service's answer is larger than the gateway accepts; its fields are null.`
      : reason === 'REQUEST_TIMEOUT'
        ? `The request ran out of time before the ${subgraph} service answered; its fields are null.`
        : `The ${subgraph} service is unavailable; its fields are null.`;
  return { message, extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, subgraph, reason } };
}

const deadlines = new WeakMap<object, AbortSignal>();
/** Subgraphs already reported unavailable in a request: one error each is enough. */
const reported = new WeakMap<object, Set<string>>();

/**
 * Gives each execution a deadline of `timeoutMs`: when it passes, the request's outstanding
 * subgraph calls are abandoned and the ones not yet made are not made; their fields are null.
 */
export function useRequestDeadline(timeoutMs: number): Plugin {
  return {
    onExecute({ args }) {
      const context = args.contextValue as object;
      const controller = new AbortController();
      // Every concurrent subgraph call of the request listens to it; dozens are normal, not a leak.
      setMaxListeners(0, controller.signal);
      const timer = setTimeout(
        () => controller.abort(new Error(`request deadline of ${timeoutMs} ms passed`)),
        timeoutMs,
      );
      timer.unref();
      deadlines.set(context, controller.signal);
      return {
        onExecuteDone() {
          clearTimeout(timer);
        },
      };
    },
  };
}

/** The deadline of the request a subgraph call belongs to, when it has one. */
export function requestDeadline(context: object | undefined): AbortSignal | undefined {
  return context ? deadlines.get(context) : undefined;
}

export interface GuardedCall {
  /** The subgraph's name, as the client sees it in `extensions.subgraph`. */
  subgraph: string;
  /** That subgraph's circuit breaker. */
  breaker: CircuitBreaker;
  /** The gateway's per-request context (keys the deadline and what was reported). */
  context: object | undefined;
  /** Where unavailable subgraphs are logged (not an open circuit's fast failures). Default: nowhere. */
  logger?: Pick<Logger, 'warn'>;
  /** Makes the call with the data source's own logic. */
  send: () => Promise<SubgraphResponse>;
  /** What the fetcher saw: whether the call left the gateway, and the HTTP status it got. */
  outcome: () => { reached: boolean; status: number };
}

/** When each call left for its subgraph (calls not made are not timed). */
const sentAt = new WeakMap<GuardedCall, number>();

/** coursegraph_subgraph_fetch_* (metrics.ts) for a call that ended. */
function finished(call: GuardedCall, outcome: SubgraphFetchOutcome): void {
  const sent = sentAt.get(call);
  recordSubgraphFetch(call.subgraph, outcome, sent === undefined ? undefined : (performance.now() - sent) / 1000);
}

/** The response for a subgraph that could not answer: one error per subgraph and request, no data. */
function unavailable(call: GuardedCall, reason: UnavailableReason, detail?: unknown): SubgraphResponse {
  finished(
    call,
    reason === 'TIMEOUT' || reason === 'REQUEST_TIMEOUT'
      ? 'timeout'
      : reason === 'CIRCUIT_OPEN'
        ? 'circuit_open'
        : 'error',
  );
  if (reason !== 'CIRCUIT_OPEN')
    call.logger?.warn(
      { subgraph: call.subgraph, reason, err: detail },
      `subgraph ${call.subgraph} unavailable: ${reason}`,
    );
  if (call.context) {
    let seen = reported.get(call.context);
    if (!seen) reported.set(call.context, (seen = new Set()));
    if (seen.has(call.subgraph)) return {};
    seen.add(call.subgraph);
  }
  return { errors: [unavailableError(call.subgraph, reason)] };
}

/** An HTTP error answer (4xx) of a live subgraph: its own GraphQL errors, or a plain one. */
function refused(call: GuardedCall, err: unknown, status: number): SubgraphResponse {
  finished(call, 'error');
  const body = (err as GraphQLError).extensions?.response as { body?: unknown } | undefined;
  const errors = (body?.body as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(errors) && errors.length > 0) return { errors };
  const code = status === 401 ? ErrorCode.UNAUTHENTICATED : status === 403 ? ErrorCode.FORBIDDEN : ErrorCode.INTERNAL;
  call.logger?.warn(
    { subgraph: call.subgraph, status },
    `subgraph ${call.subgraph} refused a call with HTTP ${status}`,
  );
  return {
    errors: [
      {
        message:
          code === ErrorCode.INTERNAL ? 'Unexpected error.' : `The ${call.subgraph} service refused the request.`,
        extensions: { code },
      },
    ],
  };
}

/**
 * Makes one subgraph call within the budget. Breaker: timeouts, connection failures and 5xx count
 * as failures; any answer (even a 4xx) as success; a call abandoned because the request's own
 * deadline passed, or cut off for its size, counts neither way (the subgraph may be fine, the
 * operation was too big). A failure before the call left the gateway is the gateway's own and is
 * rethrown as it was.
 */
export async function guardSubgraphCall(call: GuardedCall): Promise<SubgraphResponse> {
  const { breaker } = call;
  if (requestDeadline(call.context)?.aborted) return unavailable(call, 'REQUEST_TIMEOUT');
  if (!breaker.tryAcquire()) return unavailable(call, 'CIRCUIT_OPEN');
  let response: SubgraphResponse;
  sentAt.set(call, performance.now());
  try {
    response = await call.send();
  } catch (err) {
    const { reached, status } = call.outcome();
    if (err instanceof SubgraphFetchError) {
      if (err.failure === 'ABORTED' || err.failure === 'RESPONSE_TOO_LARGE') {
        breaker.neutral();
        return unavailable(call, err.failure === 'ABORTED' ? 'REQUEST_TIMEOUT' : 'RESPONSE_TOO_LARGE', err);
      }
      breaker.failure(err.failure);
      return unavailable(call, err.failure, err);
    }
    if (status >= 500) {
      breaker.failure(`HTTP ${status}`);
      return unavailable(call, 'SERVER_ERROR', err);
    }
    if (status >= 400) {
      breaker.success();
      return refused(call, err, status);
    }
    if (!reached) {
      breaker.neutral();
      finished(call, 'error');
      throw err;
    }
    // Another fetcher (GATEWAY_SUBGRAPH_CLIENT=apollo), or an answer that was not GraphQL over JSON.
    if (requestDeadline(call.context)?.aborted) {
      breaker.neutral();
      return unavailable(call, 'REQUEST_TIMEOUT', err);
    }
    const reason: UnavailableReason = status === 0 ? 'UNREACHABLE' : 'SERVER_ERROR';
    breaker.failure(reason);
    return unavailable(call, reason, err);
  }
  breaker.success();
  finished(call, 'ok');
  return response;
}
