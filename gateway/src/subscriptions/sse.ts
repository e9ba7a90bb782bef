/**
 * Subscriptions over GraphQL over SSE, distinct-connections mode: `POST /graphql/stream` with the
 * usual JSON body and `Accept: text/event-stream`; each result is an `event: next`, the end an
 * `event: complete`. A request that cannot start (bad JSON, unknown field, no or bad token, a
 * malformed position) gets a plain JSON error response with 400/401/403 instead of a stream.
 * Written here rather than taken from graphql-sse's handler because that handler drains results
 * into an unbounded queue; this one waits for the socket before taking the next event, so a slow
 * reader fills its bounded hub queue and is disconnected with a reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionResult, GraphQLError } from 'graphql';
import { ErrorCode, badInput, type AuthVerifier, type Logger } from '@coursegraph/service-kit';
import { verifyCaller, watchCaller } from './caller.js';
import { STREAM_FAILED_MESSAGE, StreamEnded } from './stream-ended.js';
import { prepareSubscription, type SubscriptionEngine, type SubscriptionRequest } from './subscribe.js';

const MAX_BODY_BYTES = 64 * 1024;
const PING_MS = 12_000;

export interface SseTransportOptions {
  engine: SubscriptionEngine;
  verifier: AuthVerifier;
  logger: Logger;
  /** After the last word to a slow subscriber, how long before its connection is cut. */
  slowCloseGraceMs: number;
  /** How often a signed-in caller's token is checked again for revocation. */
  authRecheckMs: number;
  /** The client's address, from the request. */
  clientIp: (request: IncomingMessage) => string;
}

/** Identical subscriptions share one result object per event: serialise it once for all of them. */
const frames = new WeakMap<ExecutionResult, string>();
function frame(result: ExecutionResult): string {
  let text = frames.get(result);
  if (text === undefined) {
    text = `event: next\ndata: ${JSON.stringify(result)}\n\n`;
    frames.set(result, text);
  }
  return text;
}

/** The HTTP status of a refused request, by the first error's code; any other code is a 400. */
const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map<ErrorCode, number>([
  [ErrorCode.UNAUTHENTICATED, 401],
  [ErrorCode.FORBIDDEN, 403],
  [ErrorCode.RATE_LIMITED, 429],
]);

function errorResponse(res: ServerResponse, errors: readonly GraphQLError[]) {
  const status = STATUS_BY_CODE.get(String(errors[0]?.extensions?.code)) ?? 400;
  const retryAfter = errors[0]?.extensions?.retryAfterSeconds;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    ...(typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {}),
  });
  res.end(JSON.stringify({ errors: errors.map((e) => ({ message: e.message, extensions: e.extensions })) }));
}

const badRequest = (message: string): GraphQLError[] => [badInput(message)];

async function readBody(req: IncomingMessage): Promise<string | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sseTransport({
  engine,
  verifier,
  logger,
  slowCloseGraceMs,
  authRecheckMs,
  clientIp,
}: SseTransportOptions) {
  const open = new Set<() => void>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return errorResponse(
        res,
        badRequest('Subscribe with POST and a JSON body { query, variables }, accepting text/event-stream.'),
      );
    }
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
      return errorResponse(res, badRequest('This endpoint streams: send `Accept: text/event-stream`.'));
    }
    const text = await readBody(req);
    if (text === null)
      return errorResponse(res, badRequest(`The request body is larger than ${MAX_BODY_BYTES} bytes.`));
    let body: SubscriptionRequest;
    try {
      body = JSON.parse(text) as SubscriptionRequest;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return errorResponse(
        res,
        badRequest('The request body must be a JSON object { query, variables, operationName }.'),
      );
    }

    let caller;
    try {
      caller = await verifyCaller(verifier, req.headers.authorization);
    } catch (err) {
      return errorResponse(res, [err as GraphQLError]);
    }

    let ended: StreamEnded | null = null;
    let interrupt: () => void = () => undefined;
    // Distinct connections: this request is the stream's connection.
    const prepared = await prepareSubscription(
      engine,
      body,
      caller,
      { connection: res, ip: clientIp(req) },
      (reason) => {
        ended = reason;
        interrupt();
      },
    );
    if (!prepared.ok) return errorResponse(res, prepared.errors);
    const results = prepared.results;

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(':\n\n');
    const ping = setInterval(() => res.write(':\n\n'), PING_MS);
    ping.unref();

    // The stream's last word (a reason), then the end; a reader that is not reading is cut after the grace.
    let finished = false;
    const finish = (lastWord?: ExecutionResult) => {
      if (finished) return;
      finished = true;
      clearInterval(ping);
      cancelExpiry();
      open.delete(stop);
      if (lastWord && !res.destroyed) res.write(`event: next\ndata: ${JSON.stringify(lastWord)}\n\n`);
      if (!res.destroyed) res.end('event: complete\ndata:\n\n');
      if (lastWord) setTimeout(() => res.destroy(), slowCloseGraceMs).unref();
      void results.return(undefined);
    };
    const stop = () =>
      finish(
        endedResult(
          new StreamEnded('The gateway is shutting down; reconnect with your last position.', 'SHUTTING_DOWN'),
        ),
      );
    open.add(stop);
    const cancelExpiry = watchCaller(caller, { verifier, recheckMs: authRecheckMs, logger }, (end) =>
      finish(endedResult(new StreamEnded(end.message, end.reason))),
    );
    interrupt = () => {
      if (ended) {
        logger.info({ transport: 'sse', reason: ended.reason }, 'subscription ended by the gateway');
        finish(endedResult(ended));
      }
    };
    res.on('close', () => finish());
    // The client may have gone while the stream was being opened: its 'close' has already passed.
    if (res.destroyed || !res.socket || res.socket.destroyed) finish();

    try {
      for await (const result of results) {
        if (finished) break;
        const ok = res.write(frame(result));
        // Backpressure: take the next event only once the socket has taken this one.
        if (!ok)
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
      }
      finish();
    } catch (err) {
      if (err instanceof StreamEnded) return finish(endedResult(err));
      // Anything else is the gateway's failure (reading the stream): logged, not shown to the client.
      logger.error(
        { transport: 'sse', err: err instanceof Error ? err.message : String(err) },
        'subscription stream failed',
      );
      finish(endedResult(new StreamEnded(STREAM_FAILED_MESSAGE, 'STREAM_FAILED')));
    }
  }

  return {
    handle,
    /** Ends every open stream with a reason (the gateway is shutting down). */
    close() {
      for (const stop of [...open]) stop();
    },
  };
}

/** The last word of a stream the gateway ends: one error with the kit's code and the reason. */
function endedResult(ended: StreamEnded): ExecutionResult {
  return { errors: [ended.toGraphQLError()] };
}
