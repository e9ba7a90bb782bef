/**
 * The federation engine: @apollo/gateway over the composed supergraph file. Each subgraph call
 * carries the caller's access token (subgraphs verify it themselves) and the request id, over the
 * gateway's own keep-alive subgraph client (subgraph-fetch.ts), within the execution budget
 * (execution-budget.ts): a timeout and size cap per call, the request's deadline, and a circuit
 * breaker per subgraph (circuit-breaker.ts).
 *
 * The supergraph is reloaded without a restart (`reload()`, `watch()`): a new file becomes a new
 * *version*, its own ApolloGateway (schema, query planner, data sources) built and checked before it
 * serves; a file that does not build is logged and the current version keeps serving. Each request
 * executes on the version whose schema yoga validated it against (`useSupergraph`), so a request in
 * flight during a swap finishes on the schema it started with, even one selecting a removed field.
 * The subgraph client and circuit breakers are shared by every version.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { useApolloFederation } from '@envelop/apollo-federation';
import { CLOCK_HEADER, type Logger } from '@coursegraph/service-kit';
import { CircuitBreakers, type BreakerState, type CircuitBreaker } from './circuit-breaker.js';
import { forwardClientIp } from './client-ip.js';
import { subgraphUrl } from './config.js';
import type { GatewayContext } from './context.js';
import { guardSubgraphCall, requestDeadline } from './execution-budget.js';
import type { VersionEntityCache } from './entity-cache/index.js';
import { DEFAULT_SUBGRAPH_TIMEOUT_MS, createSubgraphFetcher } from './subgraph-fetch.js';
import { inSubgraphSpan, subgraphTraceparent } from './tracing.js';

/** How long the file must stay quiet before a change is read: a writer's several events make one reload. */
const WATCH_DEBOUNCE_MS = 250;

class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  // Set by the constructor's config (declared, so no field initialiser overwrites them).
  declare readonly subgraphName: string;
  declare readonly breaker: CircuitBreaker;
  declare readonly logger: Logger | undefined;
  /** Set only for a fetcher without its own timeout (GATEWAY_SUBGRAPH_CLIENT=apollo). */
  declare readonly callTimeoutMs: number | undefined;
  /** This version's entity cache, when on: it may answer a call, or part of it, itself (entity-cache/). */
  declare readonly entityCache: VersionEntityCache | undefined;

  override process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    return this.entityCache
      ? this.entityCache.process(this.subgraphName, options, (call) => this.send(call))
      : this.send(options);
  }

  /** Every call goes through the execution budget; see execution-budget.ts. */
  private async send(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const requestSignal = requestDeadline(options.context);
    const deadline = this.callTimeoutMs
      ? AbortSignal.any([AbortSignal.timeout(this.callTimeoutMs), ...(requestSignal ? [requestSignal] : [])])
      : requestSignal;
    const fetcher = this.fetcher;
    let reached = false;
    let status = 0;
    // This call's own view of the data source: its fetcher carries the request's deadline and
    // notes what came back, without touching the instance every request shares.
    const call = Object.create(this) as ForwardingDataSource;
    call.fetcher = async (url, init) => {
      reached = true;
      const res = await fetcher(url, deadline ? { ...init, signal: deadline } : init);
      status = res.status;
      return res;
    };
    const outcome = () => ({ reached, status });
    // Traced, the call is a client span; willSendRequest runs inside it and passes it on (tracing.ts).
    return inSubgraphSpan(
      this.subgraphName,
      this.url,
      () =>
        guardSubgraphCall({
          subgraph: this.subgraphName,
          breaker: this.breaker,
          context: options.context,
          ...(this.logger ? { logger: this.logger } : {}),
          send: () => super.process.call(call, options),
          outcome,
        }),
      outcome,
    );
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers || !context) return;
    if (context.accessToken) headers.set('authorization', `Bearer ${context.accessToken}`);
    if (context.requestId) headers.set('x-request-id', context.requestId);
    const traceparent = subgraphTraceparent(context.traceparent);
    if (traceparent) headers.set('traceparent', traceparent);
    if (context.clock) headers.set(CLOCK_HEADER, context.clock);
    // The client's address, signed for this request id (client-ip.ts); none for in-process calls.
    forwardClientIp(headers, context);
  }
}

/** One supergraph file as built: what requests that validated against `apiSchema` execute on. */
export interface SupergraphVersion {
  /** The first 12 hex digits of the SDL's sha256 (logged at each swap). */
  id: string;
  sdl: string;
  gateway: ApolloGateway;
  /** The API schema clients see. */
  apiSchema: GraphQLSchema;
  /** Routing URL of each subgraph of this version, after overrides. */
  subgraphUrls: Record<string, string>;
}

export type ReloadResult =
  | { outcome: 'updated'; id: string; previous: string }
  | { outcome: 'unchanged'; id: string }
  | { outcome: 'refused'; reason: string };

export interface Supergraph {
  /** The version new requests get. */
  current: () => SupergraphVersion;
  /** `listener` is called with each version once it serves; returns how to stop listening. */
  onUpdate: (listener: (version: SupergraphVersion) => void) => () => void;
  /** Reads the file again and swaps it in when it differs and builds; reloads run one at a time. */
  reload: () => Promise<ReloadResult>;
  /** Reloads whenever the file's directory changes (debounced); returns how to stop watching. */
  watch: () => () => void;
  /** The yoga plugin that serves the supergraph: schema follows the versions, execution per request's version. */
  plugin: () => Plugin<GatewayContext>;
  /** Routing URL of every subgraph of the current version, after overrides (kept up to date in place). */
  subgraphUrls: Record<string, string>;
  /** Each subgraph's circuit: `closed`, `open` or `half-open` (for `/readyz`). */
  breakerStates: () => Record<string, BreakerState>;
  /** Stops the breakers' timers and the current version. */
  dispose: () => Promise<void>;
}

export interface SubgraphCallOptions {
  /** Share identical in-flight subgraph queries (see subgraph-fetch.ts). Default true. */
  deduplicateQueries?: boolean;
  /** 'keep-alive' (default): the gateway's own client; 'apollo': @apollo/gateway's default fetcher (no size cap). */
  subgraphClient?: 'keep-alive' | 'apollo';
  /** The longest one subgraph call may take. Default 5 000 ms (subgraph-fetch.ts). */
  subgraphTimeoutMs?: number;
  /** The largest subgraph answer read. Default 8 MiB (subgraph-fetch.ts). */
  maxResponseBytes?: number;
  /** Failures in a row that open a subgraph's circuit. Default 5. */
  breakerFailures?: number;
  /** How long an open circuit waits before one probe. Default 10 000 ms. */
  breakerOpenMs?: number;
  /** Where breaker changes, unavailable subgraphs and reloads are logged. Default: nowhere. */
  logger?: Logger;
  /**
   * What else a reloaded version must satisfy before it serves (the subscriptions' schema must
   * build on it): throw to refuse it. Not applied to the first load, which fails start-up instead.
   */
  check?: (version: SupergraphVersion) => void;
  /** The entity cache (GATEWAY_ENTITY_CACHE): each version gets it under its own policy. */
  entityCache?: { forSupergraph(sdl: string): VersionEntityCache };
}

const sdlId = (sdl: string) => createHash('sha256').update(sdl).digest('hex').slice(0, 12);

export async function loadSupergraph(supergraphPath: string, options: SubgraphCallOptions = {}): Promise<Supergraph> {
  const fetcher =
    options.subgraphClient === 'apollo'
      ? undefined
      : createSubgraphFetcher({
          deduplicate: options.deduplicateQueries ?? true,
          ...(options.subgraphTimeoutMs ? { timeoutMs: options.subgraphTimeoutMs } : {}),
          ...(options.maxResponseBytes ? { maxResponseBytes: options.maxResponseBytes } : {}),
        });
  const breakers = new CircuitBreakers({
    ...(options.breakerFailures ? { failureThreshold: options.breakerFailures } : {}),
    ...(options.breakerOpenMs !== undefined ? { openMs: options.breakerOpenMs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const logger = options.logger?.child({ component: 'supergraph' });

  async function build(sdl: string): Promise<SupergraphVersion> {
    const subgraphUrls: Record<string, string> = {};
    const entityCache = options.entityCache?.forSupergraph(sdl);
    const gateway = new ApolloGateway({
      supergraphSdl: sdl,
      buildService: ({ name, url }) => {
        const resolved = subgraphUrl(name, url ?? '');
        subgraphUrls[name] = resolved;
        // The base constructor assigns every property given, ours included.
        const config = {
          url: resolved,
          subgraphName: name,
          breaker: breakers.for(name),
          logger: options.logger,
          entityCache,
          ...(fetcher ? { fetcher } : { callTimeoutMs: options.subgraphTimeoutMs ?? DEFAULT_SUBGRAPH_TIMEOUT_MS }),
        };
        return new ForwardingDataSource(config);
      },
    });
    // Parses the file, checks it is a supergraph and builds the API schema and query planner: throws otherwise.
    await gateway.load();
    const apiSchema = gateway.schema!;
    federation.set(apiSchema, useApolloFederation({ gateway, ...(logger ? { logger } : {}) }));
    return { id: sdlId(sdl), sdl, gateway, apiSchema, subgraphUrls };
  }

  // Each version's federation plugin (@envelop/apollo-federation over its gateway), by its API schema.
  const federation = new WeakMap<GraphQLSchema, ReturnType<typeof useApolloFederation>>();
  let current = await build(fs.readFileSync(supergraphPath, 'utf8'));
  const subgraphUrls = { ...current.subgraphUrls };
  const listeners = new Set<(version: SupergraphVersion) => void>();

  async function swapIn(): Promise<ReloadResult> {
    let candidate: SupergraphVersion;
    try {
      const sdl = fs.readFileSync(supergraphPath, 'utf8');
      if (sdlId(sdl) === current.id) return { outcome: 'unchanged', id: current.id };
      candidate = await build(sdl);
      options.check?.(candidate);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      logger?.error(
        { path: supergraphPath, err: reason, serving: current.id },
        'supergraph refused; the current one keeps serving',
      );
      return { outcome: 'refused', reason };
    }
    const previous = current;
    current = candidate;
    for (const name of Object.keys(subgraphUrls)) if (!(name in candidate.subgraphUrls)) delete subgraphUrls[name];
    Object.assign(subgraphUrls, candidate.subgraphUrls);
    for (const listener of listeners) {
      try {
        listener(candidate);
      } catch (err) {
        logger?.error({ err: (err as Error).message }, 'a supergraph listener failed');
      }
    }
    // It holds no timers: requests already executing on it keep its planner and data sources.
    await previous.gateway.stop().catch(() => undefined);
    logger?.info({ path: supergraphPath, supergraph: candidate.id, previous: previous.id }, 'supergraph reloaded');
    return { outcome: 'updated', id: candidate.id, previous: previous.id };
  }

  let reloading: Promise<ReloadResult> | null = null;
  const reload = (): Promise<ReloadResult> => {
    const next = (reloading ?? Promise.resolve()).then(swapIn, swapIn);
    reloading = next;
    return next;
  };

  return {
    current: () => current,
    onUpdate: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload,
    watch: () => {
      let timer: NodeJS.Timeout | undefined;
      // The directory, not the file: writers replace files by renaming (and Kubernetes swaps a
      // ConfigMap's symlinks), which a watch on the old file would never see. An event that
      // did not change the file costs one read and is ignored.
      const watcher = fs.watch(path.dirname(supergraphPath), () => {
        clearTimeout(timer);
        timer = setTimeout(() => void reload(), WATCH_DEBOUNCE_MS);
      });
      watcher.on('error', (err) => logger?.warn({ err: err.message }, 'watching the supergraph failed'));
      return () => {
        clearTimeout(timer);
        watcher.close();
      };
    },
    plugin: () => ({
      onPluginInit({ setSchema }) {
        setSchema(current.apiSchema);
        listeners.add((version) => setSchema(version.apiSchema));
      },
      onExecute(payload) {
        // Executed by the version yoga validated the request against (a request in flight during a
        // swap keeps its own), or by the current one for a schema no version made.
        const plugin = federation.get(payload.args.schema) ?? federation.get(current.apiSchema)!;
        return plugin.onExecute?.(payload as never);
      },
    }),
    subgraphUrls,
    breakerStates: () => breakers.states(),
    dispose: async () => {
      breakers.dispose();
      await current.gateway.stop();
    },
  };
}
