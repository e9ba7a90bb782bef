/**
 * Moving a trace across processes: the W3C `traceparent` of a span (what an event or a subgraph
 * call carries) and the context a received one continues, through the propagator the SDK registers.
 */
import { isSpanContextValid, propagation, ROOT_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import { isTraceparent } from '../events/traceparent.js';

/** The context that continues `traceparent`; the root context (a new trace) when it is absent or malformed. */
export function contextOf(traceparent: string | null | undefined): Context {
  return isTraceparent(traceparent) ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/**
 * The `traceparent` naming `span` as the parent of what it causes (a sampled-out span passes its
 * decision on); undefined for a span with no trace (made before the SDK was registered).
 */
export function traceparentOf(span: Span): string | undefined {
  if (!isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return isTraceparent(carrier.traceparent) ? carrier.traceparent : undefined;
}

/** The trace id of a `traceparent`. */
export const traceIdOf = (traceparent: string): string => traceparent.slice(3, 35);
