/**
 * Applying one delivered message, shared by the durable consumer and replay: parse, then run the
 * handler and the processed_events bookkeeping in ONE transaction, so an event's effect and the
 * record that it happened commit together (no duplicated effect, whatever JetStream redelivers).
 */
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from '../logger.js';
import { inConsumerSpan } from '../tracing/events.js';
import { MalformedEventError, parseEvent, type DeliveredMessage } from './envelope.js';
import {
  DEADLETTER_HEADERS,
  EVENT_HEADERS,
  type EventHandler,
  type ReceivedEvent,
  type SqlExecutor,
  type Transaction,
} from './types.js';
import { assertContextName, errorMessage } from './util.js';

export interface Dispatcher<Tx extends SqlExecutor> {
  context: string;
  consumer: string;
  stream: string;
  handlers: Map<string, EventHandler<Tx>>;
  transaction: Transaction<Tx>;
  log: Logger;
}

export type Outcome =
  | { kind: 'applied' | 'duplicate' | 'unhandled' }
  | { kind: 'malformed'; error: Error }
  | { kind: 'failed'; error: unknown; transient: boolean };

const CONSUMER_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const STREAM_NAME = /^[A-Z][A-Z0-9_]*$/;

export function makeDispatcher<Tx extends SqlExecutor>(options: {
  context: string;
  name: string;
  stream: string;
  handlers: EventHandler<Tx>[];
  transaction: Transaction<Tx>;
  logger: Logger;
}): Dispatcher<Tx> {
  const { context, name, stream, handlers, transaction, logger } = options;
  assertContextName(context);
  // The name is a durable consumer name and a subject token of the dead-letter subject.
  if (!CONSUMER_NAME.test(name))
    throw new Error(`invalid consumer name (expected ${CONSUMER_NAME}): ${JSON.stringify(name)}`);
  if (!STREAM_NAME.test(stream))
    throw new Error(`invalid stream name (expected ${STREAM_NAME}): ${JSON.stringify(stream)}`);
  if (handlers.length === 0) throw new Error(`consumer ${name} has no handlers`);
  const bySubject = new Map<string, EventHandler<Tx>>();
  for (const handler of handlers) {
    if (bySubject.has(handler.type.subject))
      throw new Error(`consumer ${name} has two handlers for ${handler.type.subject}`);
    if (!handler.type.subject.startsWith(`${stream.toLowerCase()}.`)) {
      throw new Error(`stream ${stream} never carries ${handler.type.subject}`);
    }
    bySubject.set(handler.type.subject, handler);
  }
  return {
    context,
    consumer: name,
    stream,
    handlers: bySubject,
    transaction,
    log: logger.child({ component: 'event-consumer', context, consumer: name }),
  };
}

/** Thrown inside the transaction to tell the handler's own errors from infrastructure failures. */
class HandlerError extends Error {
  constructor(readonly original: unknown) {
    super(errorMessage(original));
  }
}

export async function dispatch<Tx extends SqlExecutor>(d: Dispatcher<Tx>, msg: DeliveredMessage): Promise<Outcome> {
  const handler = d.handlers.get(msg.subject);
  if (!handler) return { kind: 'unhandled' };
  let event;
  try {
    event = parseEvent(msg, handler.type);
  } catch (err) {
    if (err instanceof MalformedEventError) return { kind: 'malformed', error: err };
    throw err;
  }
  const received = event;
  // Traced, the handling is a span under the event's traceparent, around its SQL and the events it writes.
  return inConsumerSpan({ context: d.context, name: d.consumer }, { ...received, subject: received.type }, () =>
    apply(d, handler, received),
  );
}

/** The handler and the processed_events row in one transaction. */
async function apply<Tx extends SqlExecutor>(
  d: Dispatcher<Tx>,
  handler: EventHandler<Tx>,
  event: ReceivedEvent,
): Promise<Outcome> {
  try {
    const applied = await d.transaction(async (tx) => {
      const inserted = await tx.$executeRawUnsafe(
        `insert into "${d.context}".processed_events (consumer, event_id) values ($1, $2::uuid) on conflict do nothing`,
        d.consumer,
        event.id,
      );
      if (inserted === 0) return false; // handled before: a redelivery or a JetStream duplicate
      try {
        await handler.handle(tx, event);
      } catch (err) {
        throw new HandlerError(err);
      }
      return true;
    });
    return { kind: applied ? 'applied' : 'duplicate' };
  } catch (err) {
    if (err instanceof HandlerError)
      return { kind: 'failed', error: err.original, transient: isTransient(err.original) };
    return { kind: 'failed', error: err, transient: true }; // the database itself failed: retry, never dead-letter
  }
}

// Connection loss, serialization failure, deadlock, pool timeout: worth retrying, not the event's fault.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '40001',
  '40P01',
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  'P2034',
]);
export function isTransient(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('08'))) return true;
  return isTransient((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * Publishes the original payload and headers, plus why, to `deadletter.<context>.<consumer>`.
 * `redriveSequence`: the REDRIVE stream sequence when a re-driven dead letter fails again, so its new
 * dead letter is not dropped as a duplicate of the first one.
 */
export async function deadLetter<Tx extends SqlExecutor>(
  d: Dispatcher<Tx>,
  js: JetStreamClient,
  msg: DeliveredMessage,
  error: unknown,
  redriveSequence?: number,
): Promise<void> {
  const h = natsHeaders();
  for (const key of msg.headers?.keys() ?? []) for (const value of msg.headers!.values(key)) h.append(key, value);
  const eventId = msg.headers?.get(EVENT_HEADERS.id) ?? '';
  h.set(DEADLETTER_HEADERS.error, errorMessage(error).slice(0, 1000));
  h.set(DEADLETTER_HEADERS.consumer, `${d.context}.${d.consumer}`);
  h.set(DEADLETTER_HEADERS.deliveryCount, String(msg.deliveryCount));
  h.set(DEADLETTER_HEADERS.subject, msg.subject);
  h.set(DEADLETTER_HEADERS.streamSequence, String(msg.streamSequence));
  if (eventId) h.set(DEADLETTER_HEADERS.eventId, eventId);
  await js.publish(`deadletter.${d.context}.${d.consumer}`, msg.data, {
    headers: h,
    // Dead-lettering the same delivery twice (crash before term) stores it once.
    msgID: `dl:${d.stream}:${msg.streamSequence}:${d.context}.${d.consumer}${redriveSequence === undefined ? '' : `:rd${redriveSequence}`}`,
  });
}
