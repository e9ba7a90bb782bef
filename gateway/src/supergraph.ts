/**
 * The federation engine: @apollo/gateway over the composed supergraph file. Each subgraph call
 * carries the caller's access token (subgraphs verify it themselves) and the request id, over the
 * gateway's own keep-alive subgraph client (subgraph-fetch.ts), within the execution budget
 * (execution-budget.ts): a timeout and size cap per call, the request's deadline, and a circuit
 * breaker per subgraph (circuit-breaker.ts).
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CLOCK_HEADER, type Logger } from '@coursegraph/service-kit';
import { CircuitBreakers, type BreakerState, type CircuitBreaker } from './circuit-breaker.js';
import { forwardClientIp } from './client-ip.js';
import { subgraphUrl } from './config.js';
import type { GatewayContext } from './context.js';
import { guardSubgraphCall, requestDeadline } from './execution-budget.js';
import { DEFAULT_SUBGRAPH_TIMEOUT_MS, createSubgraphFetcher } from './subgraph-fetch.js';

class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  // Set by the constructor's config (declared, so no field initialiser overwrites them).
  declare readonly subgraphName: string;
  declare readonly breaker: CircuitBreaker;
  declare readonly logger: Logger | undefined;
  /** Set only for a fetcher without its own timeout (GATEWAY_SUBGRAPH_CLIENT=apollo). */
  declare readonly callTimeoutMs: number | undefined;

  /** Every call goes through the execution budget; see execution-budget.ts. */
  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
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
    return guardSubgraphCall({
      subgraph: this.subgraphName,
      breaker: this.breaker,
      context: options.context,
      ...(this.logger ? { logger: this.logger } : {}),
      send: () => super.process.call(call, options),
      outcome: () => ({ reached, status }),
    });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers || !context) return;
    if (context.accessToken) headers.set('authorization', `Bearer ${context.accessToken}`);
    if (context.requestId) headers.set('x-request-id', context.requestId);
    if (context.traceparent) headers.set('traceparent', context.traceparent);
    if (context.clock) headers.set(CLOCK_HEADER, context.clock);
    // The client's address, signed for this request id (client-ip.ts); none for in-process calls.
    forwardClientIp(headers, context);
  }
}

export interface Supergraph {
  gateway: ApolloGateway;
  /** Routing URL of every subgraph, after overrides. */
  subgraphUrls: Record<string, string>;
  /** Each subgraph's circuit: `closed`, `open` or `half-open` (for `/readyz`). */
  breakerStates: () => Record<string, BreakerState>;
  /** Stops the breakers' timers. */
  dispose: () => void;
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
  /** Where breaker changes and unavailable subgraphs are logged. Default: nowhere. */
  logger?: Logger;
}

export async function loadSupergraph(supergraphPath: string, options: SubgraphCallOptions = {}): Promise<Supergraph> {
  const supergraphSdl = readFileSync(supergraphPath, 'utf8');
  const subgraphUrls: Record<string, string> = {};
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
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const resolved = subgraphUrl(name, url ?? '');
      subgraphUrls[name] = resolved;
      // The base constructor assigns every property given, ours included.
      const config = {
        url: resolved,
        subgraphName: name,
        breaker: breakers.for(name),
        logger: options.logger,
        ...(fetcher ? { fetcher } : { callTimeoutMs: options.subgraphTimeoutMs ?? DEFAULT_SUBGRAPH_TIMEOUT_MS }),
      };
      return new ForwardingDataSource(config);
    },
  });
  await gateway.load();
  return { gateway, subgraphUrls, breakerStates: () => breakers.states(), dispose: () => breakers.dispose() };
}
