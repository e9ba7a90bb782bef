/**
 * Spans of the event backbone (docs/adr/0003), joined through the `traceparent` every event carries:
 *
 *     request span ─ <subject> create (the outbox write; the event's traceparent names it)
 *                    └ <subject> send (the relay's publish; the message's traceparent names it)
 *                       └ <subject> process (a consumer's handling, in another service)
 *
 * Each helper goes straight to its work when tracing is off.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { newTraceparent } from '../events/traceparent.js';
import { contextOf, traceIdOf, traceparentOf } from './context.js';
import { tracer, tracingEnabled } from './sdk.js';

const messaging = (operation: string, subject: string): Attributes => ({
  'messaging.system': 'nats',
  'messaging.operation.type': operation,
  'messaging.destination.name': subject,
});

function failed(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * Runs an outbox write in its span; `write` gets the traceparent the event is to carry (the span's).
 * The span's parent is the active one (the request's), unless the caller names another trace in
 * `given` (work carried on after the request that caused it): then it continues that one.
 */
export async function inOutboxWriteSpan(
  subject: string,
  producer: string,
  given: string | undefined,
  write: (traceparent: string) => Promise<string>,
): Promise<string> {
  if (!tracingEnabled()) return write(given ?? newTraceparent());
  const active = trace.getActiveSpan()?.spanContext();
  const parent = given && active?.traceId !== traceIdOf(given) ? contextOf(given) : context.active();
  const attributes = { ...messaging('create', subject), 'coursegraph.context': producer };
  return tracer().startActiveSpan(
    `${subject} create`,
    { kind: SpanKind.PRODUCER, attributes },
    parent,
    async (span) => {
      try {
        const id = await write(traceparentOf(span) ?? given ?? newTraceparent());
        span.setAttribute('messaging.message.id', id);
        return id;
      } catch (err) {
        failed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Runs the relay's publish of one event in its span; `publish` gets the traceparent the message carries. */
export async function inPublishSpan<T>(
  event: { id: string; subject: string; traceparent: string },
  publish: (traceparent: string) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return publish(event.traceparent);
  const span = tracer().startSpan(
    `${event.subject} send`,
    { kind: SpanKind.PRODUCER, attributes: { ...messaging('send', event.subject), 'messaging.message.id': event.id } },
    contextOf(event.traceparent),
  );
  try {
    return await publish(traceparentOf(span) ?? event.traceparent);
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

export interface ConsumedEvent {
  id: string;
  subject: string;
  traceparent: string;
  deliveryCount: number;
}

/**
 * Runs a consumer's handling of one event in its span, a child of the event's traceparent, so the
 * handler's SQL and the events it writes join the trace of the request that caused it. `outcome`
 * reads the result's kind (applied, duplicate, failed) onto the span.
 */
export async function inConsumerSpan<T extends { kind: string }>(
  consumer: { context: string; name: string },
  event: ConsumedEvent,
  handle: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return handle();
  const attributes = {
    ...messaging('process', event.subject),
    'messaging.consumer.group.name': consumer.name,
    'messaging.message.id': event.id,
    'coursegraph.context': consumer.context,
    'coursegraph.event.delivery_count': event.deliveryCount,
  };
  return tracer().startActiveSpan(
    `${event.subject} process`,
    { kind: SpanKind.CONSUMER, attributes },
    contextOf(event.traceparent),
    async (span) => {
      try {
        const result = await handle();
        span.setAttribute('coursegraph.event.outcome', result.kind);
        if (result.kind === 'failed' || result.kind === 'malformed') span.setStatus({ code: SpanStatusCode.ERROR });
        return result;
      } catch (err) {
        failed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
