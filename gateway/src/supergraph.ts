/**
 * The federation engine: @apollo/gateway over the composed supergraph file. Each subgraph call
 * carries the caller's access token (subgraphs verify it themselves) and the request id.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { subgraphUrl } from './config.js';
import type { GatewayContext } from './context.js';

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

export async function loadSupergraph(supergraphPath: string): Promise<Supergraph> {
  const supergraphSdl = readFileSync(supergraphPath, 'utf8');
  const subgraphUrls: Record<string, string> = {};
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const resolved = subgraphUrl(name, url ?? '');
      subgraphUrls[name] = resolved;
      return new ForwardingDataSource({ url: resolved });
    },
  });
  await gateway.load();
  return { gateway, subgraphUrls };
}
