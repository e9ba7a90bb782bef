/**
 * Builds the gateway (the one endpoint) without listening: yoga serving the supergraph through
 * @apollo/gateway, with auth, the admin-only explorer and introspection gate. main.ts serves it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import { useApolloFederation } from '@envelop/apollo-federation';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createAuthVerifier, createRedis, createServiceYoga, remoteJwks, type Logger } from '@coursegraph/service-kit';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { explorerFor, useExplorerSignIn } from './explorer.js';
import { createRequestAuth, isAdmin } from './request-auth.js';
import { createResponseCache } from './response-cache/index.js';
import { useShareInFlightQueries } from './share-in-flight-queries.js';
import { loadSupergraph } from './supergraph.js';
import { SSE_PATH, createSubscriptions } from './subscriptions/index.js';

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
  const { gateway, subgraphUrls } = await loadSupergraph(config.supergraphPath, { deduplicateQueries: config.deduplicateQueries, subgraphClient: config.subgraphClient });
  const production = config.mode === 'production';
  const responseCache = config.responseCache
    ? await createResponseCache({ natsUrl: config.natsUrl, ttlMs: config.responseCacheTtlMs, maxEntries: config.responseCacheMaxEntries, maxMb: config.responseCacheMaxMb, logger })
    : null;

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
      // A cached answer stops execution before anything below runs.
      ...(responseCache ? [responseCache.plugin] : []),
      // After the federation plugin: it wraps the executor that plugin sets.
      ...(config.shareInFlightOperations ? [useShareInFlightQueries()] : []),
    ],
  });

  const subscriptions = await createSubscriptions({
    apiSchema: gateway.schema!,
    verifier,
    // Entity fields of subscription events go through this very gateway, as the subscriber.
    runQuery: async (query, variables, token) => {
      const res = await yoga.fetch(`http://gateway${GRAPHQL_ENDPOINT}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return res.json();
    },
    natsUrl: config.natsUrl,
    logger,
    webSocketPath: GRAPHQL_ENDPOINT,
    bufferLimit: config.subscriptionBufferEvents,
    slowCloseGraceMs: config.subscriptionSlowCloseGraceMs,
    authRecheckMs: config.subscriptionAuthRecheckMs,
  });

  return {
    handler: (req: IncomingMessage, res: ServerResponse) => (req.url?.split('?')[0] === SSE_PATH ? subscriptions.sse(req, res) : yoga(req, res)),
    yoga,
    subscriptions,
    /** Takes WebSocket upgrades (graphql-ws) on the server that serves `handler`. */
    attach: (server: Server) => subscriptions.attach(server),
    /** Streams end first, with a reason, so shutdown need not wait for them. */
    beforeDrain: () => subscriptions.close(),
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
      await responseCache?.close();
      await gateway.stop();
      redis.disconnect();
    },
  };
}
