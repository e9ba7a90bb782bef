/**
 * The federation engine: @apollo/gateway over the composed supergraph file. Each subgraph call
 * carries the caller's access token (subgraphs verify it themselves) and the request id, over the
 * gateway's own keep-alive subgraph client (subgraph-fetch.ts).
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { subgraphUrl } from './config.js';
import type { GatewayContext } from './context.js';
import { createSubgraphFetcher } from './subgraph-fetch.js';

class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers || !context) return;
    if (context.accessToken) headers.set('authorization', `Bearer ${context.accessToken}`);
    if (context.requestId) headers.set('x-request-id', context.requestId);
  }
}

export interface Supergraph {
  gateway: ApolloGateway;
  /** Routing URL of every subgraph, after overrides. */
  subgraphUrls: Record<string, string>;
}

export interface SubgraphCallOptions {
  /** Share identical in-flight subgraph queries (see subgraph-fetch.ts). Default true. */
  deduplicateQueries?: boolean;
  /** 'keep-alive' (default): the gateway's own client; 'apollo': @apollo/gateway's default fetcher. */
  subgraphClient?: 'keep-alive' | 'apollo';
}

export async function loadSupergraph(supergraphPath: string, options: SubgraphCallOptions = {}): Promise<Supergraph> {
  const supergraphSdl = readFileSync(supergraphPath, 'utf8');
  const subgraphUrls: Record<string, string> = {};
  const fetcher = options.subgraphClient === 'apollo' ? undefined : createSubgraphFetcher({ deduplicate: options.deduplicateQueries ?? true });
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const resolved = subgraphUrl(name, url ?? '');
      subgraphUrls[name] = resolved;
      return new ForwardingDataSource({ url: resolved, ...(fetcher ? { fetcher } : {}) });
    },
  });
  await gateway.load();
  return { gateway, subgraphUrls };
}
