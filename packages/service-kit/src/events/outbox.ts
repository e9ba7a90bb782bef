/**
 * The producer's half of the outbox pattern (docs/adr/0003): the event row is written by the same
 * transaction as the state change, so it exists if and only if the change committed.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { newId } from '../ids.js';
import { envelopeHeaders } from './envelope.js';
import { encodedHeadersSize, EventTooLargeError } from './event-size.js';
import { processOutboxSettings } from './outbox-settings.js';
import { inOutboxWriteSpan } from '../tracing/events.js';
import { isTraceparent } from './traceparent.js';
import type { EventInit, EventType, SqlExecutor } from './types.js';
import { assertContextName } from './util.js';

/** The channel the relay LISTENs on; NOTIFY inside the transaction is delivered at commit. */
export const outboxChannel = (context: string): string => `outbox_${context}`;

export interface EnqueueOptions {
  /**
   * The W3C traceparent of the request causing the event; a new trace when absent. With tracing on,
   * the event carries the traceparent of its outbox write span instead, a child of this one (or of
   * the active span when this is absent or of the same trace).
   */
  traceparent?: string;
  /** The largest event accepted, payload + envelope headers in bytes. Default: EVENT_MAX_BYTES (outbox-settings.ts). */
  maxBytes?: number;
}

/**
 * Writes `payload` as an event of `type` to `"<context>".outbox_events` through `tx` (call it inside the
 * transaction that makes the change) and returns the event id (UUID v7, also the Nats-Msg-Id).
 * Throws EventTooLargeError, writing nothing, when the event would exceed `maxBytes` (event-size.ts says
 * why it is refused here rather than at publish): let it roll the transaction back.
 */
export async function enqueueEvent<E extends EventType>(
  tx: SqlExecutor,
  context: string,
  type: E,
  payload: EventInit<E>,
  options: EnqueueOptions = {},
): Promise<string> {
  assertContextName(context);
  // A context publishes only its own events: its stream captures `<context>.>` and nothing else.
  if (!type.subject.startsWith(`${context}.`)) {
    throw new Error(`context ${context} cannot publish ${type.subject}: subjects must start with "${context}."`);
  }
  if (options.traceparent !== undefined && !isTraceparent(options.traceparent))
    throw new Error(`invalid traceparent: ${options.traceparent}`);
  // Traced, the event carries its outbox write span's traceparent (tracing/events.ts).
  return inOutboxWriteSpan(type.subject, context, options.traceparent, (traceparent) =>
    writeEvent(tx, context, type, payload, traceparent, options.maxBytes),
  );
}

async function writeEvent<E extends EventType>(
  tx: SqlExecutor,
  context: string,
  type: E,
  payload: EventInit<E>,
  traceparent: string,
  maxBytes: number | undefined,
): Promise<string> {
  const id = newId();
  const bytes = toBinary(type.schema, create(type.schema, payload));
  // The headers the relay will send, measured exactly (ce-time has a fixed length, so any time will do).
  const size =
    bytes.byteLength +
    encodedHeadersSize(envelopeHeaders({ id, subject: type.subject, source: context, time: new Date(), traceparent }));
  const limit = maxBytes ?? processOutboxSettings().maxBytes;
  if (size > limit) throw new EventTooLargeError(type.subject, size, limit);
  await tx.$executeRawUnsafe(
    `insert into "${context}".outbox_events (id, subject, payload, traceparent) values ($1::uuid, $2, $3::bytea, $4)`,
    id,
    type.subject,
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    traceparent,
  );
  await tx.$executeRawUnsafe(`select pg_notify($1, '')`, outboxChannel(context));
  return id;
}
