/**
 * The gateway's part of a trace (docs/observability.md). The request's server span is the kit's
 * (createServiceYoga); @apollo/gateway adds its own spans under it once the SDK is registered
 * (`gateway.request`, `gateway.validate`, `gateway.plan` when a plan is not cached, `gateway.execute`,
 * one `gateway.fetch` per fetch node, `gateway.postprocessing`). This module adds the subgraph call
 * itself: one client span per call, made by the data source within the execution budget, whose
 * `traceparent` the subgraph receives, so the subgraph's server span is its child.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ErrorCode, tracer, tracingEnabled, traceparentOf } from '@coursegraph/service-kit';

interface SubgraphAnswer {
  errors?: readonly { extensions?: Record<string, unknown> }[];
}

/**
 * Runs one subgraph call in its span. `outcome` tells what the fetcher saw (whether the call left,
 * its HTTP status); an unavailable subgraph (execution-budget.ts) is an error with its reason.
 */
export async function inSubgraphSpan<T extends SubgraphAnswer>(
  subgraph: string,
  url: string,
  call: () => Promise<T>,
  outcome: () => { reached: boolean; status: number },
): Promise<T> {
  if (!tracingEnabled()) return call();
  const { hostname, port } = new URL(url);
  const span = tracer().startSpan(`subgraph ${subgraph}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'coursegraph.subgraph': subgraph,
      'http.request.method': 'POST',
      'server.address': hostname,
      ...(port ? { 'server.port': Number(port) } : {}),
    },
  });
  try {
    const answer = await context.with(trace.setSpan(context.active(), span), call);
    const { reached, status } = outcome();
    if (reached && status) span.setAttribute('http.response.status_code', status);
    const unavailable = answer.errors?.find((e) => e.extensions?.code === ErrorCode.SUBGRAPH_UNAVAILABLE);
    if (unavailable) span.setAttribute('coursegraph.subgraph.unavailable', String(unavailable.extensions?.reason));
    if (unavailable || status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
    return answer;
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * The `traceparent` a subgraph call carries: traced, the active span's (the call's own); untraced,
 * the caller's, passed on unchanged so the events the call causes still join the caller's trace.
 */
export function subgraphTraceparent(callerTraceparent: string | undefined): string | undefined {
  if (!tracingEnabled()) return callerTraceparent;
  const span = trace.getActiveSpan();
  return (span && traceparentOf(span)) ?? callerTraceparent;
}
