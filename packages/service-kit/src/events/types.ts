/**
 * The event backbone's public types (docs/adr/0003). Producers write events to their context's
 * outbox table inside the same transaction as the state change; a relay publishes them to NATS
 * JetStream with Nats-Msg-Id = event id; durable consumers handle each event once, recording it in
 * their own schema and acking only after their own commit.
 */
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';

/** An event contract: its subject (`<context>.<entity>.<event>`) and its protobuf message. */
export interface EventType<Desc extends DescMessage = DescMessage> {
  subject: string;
  schema: Desc;
}

export function defineEvent<Desc extends DescMessage>(subject: string, schema: Desc): EventType<Desc> {
  if (!/^[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}$/.test(subject)) {
    throw new Error(`event subject must be <context>.<entity>.<event>: ${subject}`);
  }
  return { subject, schema };
}

export type EventPayload<E extends EventType> = MessageShape<E['schema']>;
export type EventInit<E extends EventType> = MessageInitShape<E['schema']>;

/** A delivered event: the envelope from the NATS headers plus the decoded payload. */
export interface ReceivedEvent<E extends EventType = EventType> {
  /** UUID v7; also the Nats-Msg-Id. */
  id: string;
  /** The subject, e.g. course.course.published (header ce-type). */
  type: string;
  /** The producing context (header ce-source). */
  source: string;
  /** When the producer committed it, RFC 3339 UTC (header ce-time). */
  time: string;
  /** W3C trace context of the producing request (header traceparent). */
  traceparent: string;
  /** JetStream stream sequence: the event's position in its stream. */
  streamSequence: number;
  /** How many times this message has been delivered (1 on first delivery). */
  deliveryCount: number;
  payload: EventPayload<E>;
}

/**
 * What a producer's transaction must offer to write to the outbox: Prisma's interactive transaction
 * client satisfies it (`$executeRawUnsafe`), and so does a thin wrapper over a `pg` client.
 */
export interface SqlExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/** Header names of the envelope (the same contract as rust-subgraphs/events). */
export const EVENT_HEADERS = {
  id: 'Nats-Msg-Id',
  type: 'ce-type',
  source: 'ce-source',
  time: 'ce-time',
  traceparent: 'traceparent',
} as const;

/** Extra headers on a dead-lettered message (its original headers and payload are kept). */
export const DEADLETTER_HEADERS = {
  error: 'x-error',
  consumer: 'x-consumer',
  deliveryCount: 'x-delivery-count',
  /** The subject it was delivered on: the dead-letter subject replaces it. */
  subject: 'x-subject',
  /** Its stream sequence, to find the original with `nats stream get`. */
  streamSequence: 'x-stream-sequence',
  /** The original event id: Nats-Msg-Id is replaced, or two consumers' dead letters of one event would de-duplicate. */
  eventId: 'x-event-id',
} as const;

/** Runs `fn` in one database transaction: Prisma's `(fn) => prisma.$transaction(fn)` fits. */
export type Transaction<Tx extends SqlExecutor = SqlExecutor> = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/** One event type's handler, made with `on(type, handle)`; runs inside the consumer's transaction. */
export interface EventHandler<Tx extends SqlExecutor = SqlExecutor> {
  readonly type: EventType;
  readonly handle: (tx: Tx, event: ReceivedEvent) => Promise<void>;
}
