/**
 * The envelope travels in message headers (EVENT_HEADERS, the same contract as rust-subgraphs/events);
 * the protobuf payload is the body. Parsing is strict: a message that fails here can never succeed,
 * so the consumer dead-letters it at once instead of retrying.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { isTraceparent } from './traceparent.js';
import { EVENT_HEADERS, type EventType, type ReceivedEvent } from './types.js';

export interface EnvelopeFields {
  id: string;
  subject: string;
  source: string;
  time: Date;
  traceparent: string;
}

export function envelopeHeaders({ id, subject, source, time, traceparent }: EnvelopeFields): MsgHdrs {
  const h = natsHeaders();
  h.set(EVENT_HEADERS.id, id);
  h.set(EVENT_HEADERS.type, subject);
  h.set(EVENT_HEADERS.source, source);
  h.set(EVENT_HEADERS.time, time.toISOString());
  h.set(EVENT_HEADERS.traceparent, traceparent);
  return h;
}

export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

// Canonical lowercase UUID v7 only, so a re-published event keeps the very same Nats-Msg-Id.
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface DeliveredMessage {
  subject: string;
  headers?: MsgHdrs;
  data: Uint8Array;
  streamSequence: number;
  deliveryCount: number;
}

/** The envelope and decoded payload of `msg`, or a MalformedEventError saying what is wrong. */
export function parseEvent(msg: DeliveredMessage, type: EventType): ReceivedEvent {
  const header = (name: string): string => {
    const value = msg.headers?.get(name) ?? '';
    if (value === '') throw new MalformedEventError(`missing header ${name}`);
    return value;
  };
  const id = header(EVENT_HEADERS.id);
  if (!UUID_V7.test(id)) throw new MalformedEventError(`${EVENT_HEADERS.id} is not a lowercase UUID v7: ${id}`);
  const eventType = header(EVENT_HEADERS.type);
  if (eventType !== msg.subject)
    throw new MalformedEventError(`${EVENT_HEADERS.type} ${eventType} differs from the subject ${msg.subject}`);
  const source = header(EVENT_HEADERS.source);
  if (source !== msg.subject.split('.')[0])
    throw new MalformedEventError(`${EVENT_HEADERS.source} ${source} is not the subject's context`);
  const time = header(EVENT_HEADERS.time);
  if (!ISO_MS_UTC.test(time) || Number.isNaN(Date.parse(time)))
    throw new MalformedEventError(`${EVENT_HEADERS.time} is not UTC RFC 3339 with ms: ${time}`);
  const traceparent = header(EVENT_HEADERS.traceparent);
  if (!isTraceparent(traceparent))
    throw new MalformedEventError(`invalid ${EVENT_HEADERS.traceparent}: ${traceparent}`);
  let payload: ReceivedEvent['payload'];
  try {
    payload = fromBinary(type.schema, msg.data);
  } catch (err) {
    throw new MalformedEventError(`payload is not a ${type.schema.typeName}: ${(err as Error).message}`);
  }
  return {
    id,
    type: eventType,
    source,
    time,
    traceparent,
    payload,
    streamSequence: msg.streamSequence,
    deliveryCount: msg.deliveryCount,
  };
}
