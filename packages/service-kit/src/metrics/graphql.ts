/**
 * RED metrics of GraphQL requests, per operation: coursegraph_graphql_requests_total and
 * coursegraph_graphql_request_duration_seconds. The `operation` label is bounded: a name of the
 * project's persisted operations (schema/operations/persisted-documents.json), or what the service's
 * own `operationLabel` allows (the gateway: a partner's registered document), else `other`.
 *
 * A subgraph sees the gateway's fetches, which @apollo/gateway names `<operation>__<subgraph>__<n>`:
 * they count under `<operation>`, so `CatalogPage` can be followed from the gateway to each subgraph.
 *
 * Counted: every request whose document parsed (refusals by the operation limits too). Not counted:
 * requests that are not a GraphQL document (unparseable text, a wrong method: the request log has
 * them), and the gateway's in-process queries that fill in subscription events (OPERATION_BATCH).
 */
import { readFileSync } from 'node:fs';
import { getOperationAST, parse, type OperationTypeNode } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import { OPERATION_BATCH } from '../operation-limits/index.js';
import { counter, histogram, metricsEnabled, nameMetricsService, serviceOf } from './registry.js';

const requests = counter(
  'coursegraph_graphql_requests_total',
  'GraphQL requests answered, by operation and outcome (error: a response with errors or an HTTP status >= 400)',
  ['service', 'operation_type', 'operation', 'outcome'],
);
const durations = histogram(
  'coursegraph_graphql_request_duration_seconds',
  'Time from the request to its response, by operation',
  ['service', 'operation_type', 'operation'],
);

/** The label of operations outside the bounded set. */
export const OTHER_OPERATION = 'other';

/** The project's persisted operations manifest, from the repository's root (the images hold it too). */
const MANIFEST = new URL('../../../../schema/operations/persisted-documents.json', import.meta.url);

let firstParty: ReadonlySet<string> | undefined;
/** The names of the project's persisted operations; none (every operation `other`) when the manifest is missing. */
export function persistedOperationNames(logger?: Logger): ReadonlySet<string> {
  if (firstParty) return firstParty;
  const names = new Set<string>();
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    for (const text of Object.values(manifest))
      for (const definition of parse(text).definitions)
        if (definition.kind === 'OperationDefinition' && definition.name) names.add(definition.name.value);
  } catch (err) {
    logger?.warn(
      { err: (err as Error).message, manifest: MANIFEST.pathname },
      'metrics: persisted operations unreadable; every operation counts as other',
    );
  }
  firstParty = names;
  return names;
}

/** @apollo/gateway's name for a subgraph fetch: `<operation>__<subgraph>__<fetch index>`. */
const GATEWAY_FETCH = /^(\w+?)__[a-z0-9_]+__\d+$/;

/** A subgraph's label: the persisted operation a name is, or the one the gateway fetches for; else `other`. */
export function subgraphOperationLabel(name: string | undefined, known: ReadonlySet<string>): string {
  if (!name) return OTHER_OPERATION;
  if (known.has(name)) return name;
  const base = GATEWAY_FETCH.exec(name)?.[1];
  return base && known.has(base) ? base : OTHER_OPERATION;
}

export interface GraphqlMetricsOptions {
  logger: Logger;
  /**
   * The `operation` label of a request, given its operation's name; it must come from a bounded set
   * (never the raw text, never ids). Default: subgraphOperationLabel over the persisted operations.
   */
  operationLabel?: (request: Request, operationName: string | undefined) => string;
}

interface InFlight {
  startedAt: number;
  type?: OperationTypeNode;
  name?: string;
  error: boolean;
}

const hasErrors = (result: unknown): boolean =>
  Array.isArray(result)
    ? result.some(hasErrors)
    : Boolean(result && typeof result === 'object' && (result as { errors?: unknown[] }).errors?.length);

/** Counts and times every GraphQL request of a yoga app (nothing when METRICS=off). */
export function useGraphqlMetrics(options: GraphqlMetricsOptions): Plugin {
  if (!metricsEnabled()) return {};
  const service = serviceOf(options.logger);
  nameMetricsService(service);
  const known = persistedOperationNames(options.logger);
  const label = options.operationLabel ?? ((_request, name) => subgraphOperationLabel(name, known));
  const inFlight = new WeakMap<Request, InFlight>();
  return {
    onRequest({ request, serverContext }) {
      if ((serverContext as Record<symbol, unknown> | undefined)?.[OPERATION_BATCH]) return;
      inFlight.set(request, { startedAt: performance.now(), error: false });
    },
    onParse({ context }) {
      const { request, params } = context as YogaInitialContext;
      return ({ result }) => {
        const state = request && inFlight.get(request);
        if (!state || !result || result instanceof Error) return;
        const operation = getOperationAST(result, params?.operationName);
        if (!operation) return;
        state.type = operation.operation;
        state.name = operation.name?.value;
      };
    },
    onResultProcess({ request, result }) {
      const state = inFlight.get(request);
      if (state && hasErrors(result)) state.error = true;
    },
    onResponse({ request, response }) {
      const state = inFlight.get(request);
      inFlight.delete(request);
      if (!state?.type) return;
      const operation = label(request, state.name);
      const outcome = state.error || response.status >= 400 ? 'error' : 'ok';
      requests.inc({ service, operation_type: state.type, operation, outcome });
      durations.observe(
        { service, operation_type: state.type, operation },
        (performance.now() - state.startedAt) / 1000,
      );
    },
  };
}
