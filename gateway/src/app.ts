/**
 * Builds the gateway (the one endpoint) without listening: yoga serving the supergraph through
 * @apollo/gateway, with auth, the admin-only explorer and introspection gate. main.ts serves it.
 */
import type { YogaServerInstance } from 'graphql-yoga';
import { useApolloFederation } from '@envelop/apollo-federation';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createAuthVerifier, createRedis, createServiceYoga, remoteJwks, type Logger } from '@coursegraph/service-kit';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { explorerFor, useExplorerSignIn } from './explorer.js';
import { createRequestAuth, isAdmin } from './request-auth.js';
import { loadSupergraph } from './supergraph.js';

const GRAPHQL_ENDPOINT = '/graphql';

export async function createGatewayApp(config: GatewayConfig, logger: Logger) {
  const redis = createRedis(config.redisUrl);
  const verifier = createAuthVerifier({
    getKey: remoteJwks(config.jwksUrl),
    issuer: config.authIssuer,
    audience: config.authAudience,
    redis,
  });
  const auth = createRequestAuth(verifier);
  const { gateway, subgraphUrls } = await loadSupergraph(config.supergraphPath);
  const production = config.mode === 'production';

  const yoga: YogaServerInstance<Record<string, never>, GatewayContext> = createServiceYoga<GatewayContext>({
    // Replaced by the supergraph's API schema as soon as the federation plugin initialises.
    schema: gateway.schema!,
    logger,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    graphiql: explorerFor(auth),
    context: async (request) => {
      const { viewer, token } = await auth(request);
      return { requestId: request.headers.get('x-request-id') ?? '', viewer, accessToken: token };
    },
    plugins: [
      useExplorerSignIn({ auth, graphqlEndpoint: GRAPHQL_ENDPOINT, secureCookie: production, selfFetch: () => (url, init) => Promise.resolve(yoga.fetch(url, init)) }),
      useDisableIntrospection({ isDisabled: async (request) => production && !(await isAdmin(auth, request)) }),
      useApolloFederation({ gateway, logger }),
    ],
  });

  return {
    handler: yoga,
    yoga,
    /** Ready when every subgraph says it is ready. */
    ready: async () => {
      await Promise.all(
        Object.entries(subgraphUrls).map(async ([name, url]) => {
          const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2_000) }).catch(() => null);
          if (!res?.ok) throw new Error(`subgraph ${name} is not ready`);
        }),
      );
    },
    close: async () => {
      await gateway.stop();
      redis.disconnect();
    },
  };
}
