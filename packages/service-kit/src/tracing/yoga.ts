/**
 * The server span of every request a service's yoga serves, continuing the caller's `traceparent`
 * (the gateway's subgraph call, or a client's) and active while the request runs, so the spans of
 * what it does (the gateway's query plan and subgraph calls, a subgraph's SQL and outbox writes)
 * are its children. Installed by createServiceYoga when tracing is on.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { tracer } from './sdk.js';

const headersGetter = {
  keys: (headers: Headers) => [...headers.keys()],
  get: (headers: Headers, key: string) => headers.get(key) ?? undefined,
};

/** Client-chosen text kept as an attribute, bounded. */
const bounded = (text: string) => text.slice(0, 128);

/** Error codes of a result (the fixed set of errors.ts), for the span: bounded, unlike messages. */
function errorCodes(result: unknown): string[] {
  const errors = (result as { errors?: readonly { extensions?: { code?: unknown } }[] } | undefined)?.errors ?? [];
  return [...new Set(errors.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'UNKNOWN')))];
}

export function useServerSpan(graphqlEndpoint: string): Plugin {
  const spans = new WeakMap<Request, Span>();
  return {
    instrumentation: {
      request: async ({ request }, wrapped) => {
        const path = new URL(request.url).pathname;
        const parent = propagation.extract(ROOT_CONTEXT, request.headers, headersGetter);
        // Named by the route, never by a client's path: span names must stay a small set.
        const span = tracer().startSpan(
          path === graphqlEndpoint ? `${request.method} ${graphqlEndpoint}` : request.method,
          { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': bounded(path) } },
          parent,
        );
        spans.set(request, span);
        try {
          await context.with(trace.setSpan(parent, span), wrapped);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      },
    },
    onExecute({ args }) {
      const span = spans.get((args.contextValue as { request: Request }).request);
      const operation = getOperationAST(args.document as DocumentNode, args.operationName);
      if (!span || !operation) return;
      span.setAttribute('graphql.operation.type', operation.operation);
      if (operation.name) span.setAttribute('graphql.operation.name', bounded(operation.name.value));
    },
    onExecutionResult({ request, result }) {
      const codes = errorCodes(result);
      const span = spans.get(request);
      if (!span || codes.length === 0) return;
      span.setAttribute('graphql.error.codes', codes);
      span.setStatus({ code: SpanStatusCode.ERROR });
    },
    onResponse({ request, response }) {
      const span = spans.get(request);
      if (!span) return;
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
}
