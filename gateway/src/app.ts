/**
 * Builds the gateway (the one endpoint) without listening: yoga serving the supergraph through
 * @apollo/gateway, with auth, the admin-only explorer and introspection gate. main.ts serves it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import {
  CLOCK_HEADER,
  OPERATION_BATCH,
  isTraceparent,
  createAuthVerifier,
  createOperationLimiter,
  createRedis,
  createServiceYoga,
  costTableFromSdl,
  remoteJwks,
  startTracing,
  type CostTable,
  type Logger,
} from '@coursegraph/service-kit';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { ON_BEHALF_OF, clientIp, createClientIp } from './client-ip.js';
import { corsAllowList, useVaryOrigin } from './cors.js';
import { useExplorerSignIn } from './explorer.js';
import { createRequestAuth, isAdmin } from './request-auth.js';
import { API_KEY_HEADER, createPersistedDocuments } from './persisted-documents/index.js';
import { usePartnerRest } from './partner-rest/plugin.js';
import { createEntityCache } from './entity-cache/index.js';
import { createResponseCache } from './response-cache/index.js';
import { useShareInFlightQueries } from './share-in-flight-queries.js';
import { loadSupergraph } from './supergraph.js';
import { gatewayOperationLabel, observeGatewayRedis } from './metrics.js';
import { useRequestDeadline } from './execution-budget.js';
import { createRateLimits } from './rate-limit/index.js';
import { subgraphReadiness } from './readiness.js';
import { SSE_PATH, SUBSCRIPTIONS_SDL, createSubscriptions, subscriptionSchema } from './subscriptions/index.js';
import { createUsage } from './usage/index.js';

const GRAPHQL_ENDPOINT = '/graphql';

export async function createGatewayApp(config: GatewayConfig, logger: Logger) {
  // Traces, when the environment asks for them (TRACING, OTEL_EXPORTER_OTLP_ENDPOINT): before the yoga app is built.
  startTracing('gateway', logger);
  const redis = createRedis(config.redisUrl);
  const verifier = createAuthVerifier({
    getKey: remoteJwks(config.jwksUrl),
    issuer: config.authIssuer,
    audience: config.authAudience,
    redis,
    logger,
  });
  const auth = createRequestAuth(verifier);
  const unobserveRedis = observeGatewayRedis(redis);
  const entityCache = config.entityCache
    ? await createEntityCache({ natsUrl: config.natsUrl, redis, maxAgeS: config.entityCacheMaxAgeS, logger })
    : null;
  const supergraph = await loadSupergraph(config.supergraphPath, {
    deduplicateQueries: config.deduplicateQueries,
    subgraphClient: config.subgraphClient,
    subgraphTimeoutMs: config.subgraphTimeoutMs,
    maxResponseBytes: config.subgraphMaxResponseMb * 1024 * 1024,
    breakerFailures: config.breakerFailures,
    breakerOpenMs: config.breakerOpenMs,
    ...(entityCache ? { entityCache } : {}),
    logger,
    // A reloaded supergraph must still carry the types the gateway's own subscriptions extend.
    check: (version) => void subscriptionSchema(version.apiSchema),
  });
  const { subgraphUrls, breakerStates } = supergraph;
  const production = config.mode === 'production';
  // One set of operation limits, judged against the supergraph's costs (those of the version
  // serving, after a reload): queries and mutations through yoga, subscriptions when a stream is asked for.
  const costTables = (sdl: string) => ({
    queries: costTableFromSdl(sdl),
    subscriptions: costTableFromSdl(`${sdl}\n${SUBSCRIPTIONS_SDL}`),
  });
  let costs: { queries: CostTable; subscriptions: CostTable } = costTables(supergraph.current().sdl);
  const operationLimits = { config, sdl: () => costs.queries };
  const trustedProxies = config.trustedProxies;
  const requestClientIp = createClientIp({ trustedProxies, signingSecret: config.internalSigningSecret });
  const rateLimits = config.rateLimits
    ? createRateLimits({
        redis,
        limits: {
          ipPerMinute: config.rateLimitIpPerMinute,
          userPerMinute: config.rateLimitUserPerMinute,
          authPerMinute: config.rateLimitAuthPerMinute,
          enrolPerMinute: config.rateLimitEnrolPerMinute,
          checkoutPerMinute: config.rateLimitCheckoutPerMinute,
        },
        clientIp: requestClientIp,
        userOf: (request) =>
          auth(request).then(
            (a) => a.viewer?.userId ?? null,
            () => null,
          ),
        logger,
      })
    : null;
  const persistedDocuments = await createPersistedDocuments({
    mode: config.persistedDocuments,
    manifestPath: config.persistedDocumentsPath,
    identityUrl: config.identityUrl || new URL(subgraphUrls.identity!).origin,
    signingSecret: config.internalSigningSecret,
    natsUrl: config.natsUrl,
    redis,
    apqTtlSeconds: config.apqTtlS,
    getMaxAgeSeconds: config.persistedGetMaxAgeS,
    clientIp: requestClientIp,
    logger,
  });
  const responseCache = config.responseCache
    ? await createResponseCache({
        natsUrl: config.natsUrl,
        ttlMs: config.responseCacheTtlMs,
        maxEntries: config.responseCacheMaxEntries,
        maxMb: config.responseCacheMaxMb,
        logger,
      })
    : null;

  const usage = config.usage
    ? createUsage({
        natsUrl: config.natsUrl,
        reportMs: config.usageReportMs,
        graphqlEndpoint: GRAPHQL_ENDPOINT,
        logger,
      })
    : null;

  const yoga: YogaServerInstance<Record<string, never>, GatewayContext> = createServiceYoga<GatewayContext>({
    // Replaced by the supergraph's API schema as soon as its plugin initialises, and at each reload.
    schema: supergraph.current().apiSchema,
    logger,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    // Requests are counted per operation only for registered documents (metrics.ts).
    metrics: { operationLabel: gatewayOperationLabel },
    // Only the configured origins' pages may read answers in a browser; others get no CORS headers.
    cors: corsAllowList(config.corsOrigins),
    // Judged against the supergraph's costs before any plugin below (the federation executor included).
    operationLimits,
    context: async (request) => {
      const { viewer, token } = await auth(request);
      const traceparent = request.headers.get('traceparent');
      const clock = request.headers.get(CLOCK_HEADER);
      return {
        requestId: request.headers.get('x-request-id') ?? '',
        viewer,
        accessToken: token,
        // The caller's trace: passed on unchanged when untraced, continued by the gateway's spans otherwise (tracing.ts).
        ...(isTraceparent(traceparent) ? { traceparent } : {}),
        ...(config.clockHeader && clock ? { clock } : {}),
      };
    },
    plugins: [
      // First: the others read each request's client address from it.
      requestClientIp.plugin,
      // Before anything that may refuse a request (rate limits), so refusals are counted too.
      ...(usage ? [usage.plugin] : []),
      // Before the explorer, so its sign-in (an in-process logIn) is counted as the client's logIn.
      ...(rateLimits ? [rateLimits] : []),
      // REST for partners: each call becomes a persisted-document request to this very gateway.
      usePartnerRest({
        partnerOf: (request) => {
          const key = request.headers.get(API_KEY_HEADER);
          return key ? persistedDocuments.partners.byKey(key) : Promise.resolve(null);
        },
        apiSchema: () => supergraph.current().apiSchema,
        graphqlEndpoint: GRAPHQL_ENDPOINT,
        selfFetch: () => (url, init) => Promise.resolve(yoga.fetch(url, init)),
      }),
      // Partners' keys and limits, documents named by id, APQ, and the registered-documents setting.
      ...persistedDocuments.plugins,
      useVaryOrigin(),
      useExplorerSignIn({
        auth,
        graphqlEndpoint: GRAPHQL_ENDPOINT,
        selfFetch: () => (url, init, onBehalfOf) =>
          Promise.resolve(yoga.fetch(url, init, onBehalfOf ? { [ON_BEHALF_OF]: onBehalfOf } : {})),
        clientIpOf: requestClientIp.of,
      }),
      useDisableIntrospection({ isDisabled: async (request) => production && !(await isAdmin(auth, request)) }),
      // Each request executes on the supergraph version it was validated against (supergraph.ts).
      supergraph.plugin(),
      // Subgraph calls still out when the deadline passes are abandoned (execution-budget.ts).
      useRequestDeadline(config.requestTimeoutMs),
      // A cached answer stops execution before anything below runs.
      ...(responseCache ? [responseCache.plugin] : []),
      // After the federation plugin: it wraps the executor that plugin sets.
      ...(config.shareInFlightOperations ? [useShareInFlightQueries()] : []),
    ],
  });

  const subscriptions = await createSubscriptions({
    apiSchema: supergraph.current().apiSchema,
    verifier,
    // Entity fields of subscription events go through this very gateway, as the subscriber.
    runQuery: async (query, variables, token) => {
      const init = {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      };
      // One root field per event: judged per entity, not as one operation (service-kit operation-limits/plugin.ts).
      const res = await yoga.fetch(`http://gateway${GRAPHQL_ENDPOINT}`, init, { [OPERATION_BATCH]: true });
      return res.json();
    },
    natsUrl: config.natsUrl,
    logger,
    webSocketPath: GRAPHQL_ENDPOINT,
    bufferLimit: config.subscriptionBufferEvents,
    slowCloseGraceMs: config.subscriptionSlowCloseGraceMs,
    authRecheckMs: config.subscriptionAuthRecheckMs,
    limits: {
      perConnection: config.subscriptionMaxPerConnection,
      perUser: config.subscriptionMaxPerUser,
      perIp: config.subscriptionMaxPerIp,
    },
    ownerResumeWindow: config.subscriptionOwnerResumeWindow,
    clientIp: (req) => clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustedProxies),
    // Subscriptions are typed by the gateway's own Subscription SDL on top of the supergraph.
    operationLimits: createOperationLimiter({ config, sdl: () => costs.subscriptions }),
    ...(rateLimits ? { admit: rateLimits.admit } : {}),
  });

  // A new supergraph version: the cost tables and open subscription streams follow it (yoga's
  // schema follows through the supergraph's plugin).
  supergraph.onUpdate((version) => {
    costs = costTables(version.sdl);
    subscriptions.followSchema(version.apiSchema);
  });
  // SUPERGRAPH_PATH is reloaded when it changes (GATEWAY_SUPERGRAPH_WATCH) and on SIGHUP (always:
  // an operator's explicit request).
  const stopWatching = config.supergraphWatch ? supergraph.watch() : () => undefined;
  const onHangUp = () => void supergraph.reload();
  process.on('SIGHUP', onHangUp);

  return {
    handler: (req: IncomingMessage, res: ServerResponse) =>
      req.url?.split('?')[0] === SSE_PATH ? subscriptions.sse(req, res) : yoga(req, res),
    yoga,
    subscriptions,
    supergraph,
    /** Takes WebSocket upgrades (graphql-ws) on the server that serves `handler`. */
    attach: (server: Server) => subscriptions.attach(server),
    /** Streams end first, with a reason, so shutdown need not wait for them. */
    beforeDrain: () => subscriptions.close(),
    /**
     * Each subgraph's state: 200 `ready`, 200 `degraded` with the `unavailable` ones listed (partial
     * answers are still served), 503 only when none answers (gateway/src/readiness.ts).
     * Each subgraph also shows its circuit breaker's state.
     */
    ready: subgraphReadiness({ subgraphUrls, breakerStates }),
    close: async () => {
      // The last report, once the server has drained (runService closes after draining).
      stopWatching();
      process.off('SIGHUP', onHangUp);
      await usage?.close();
      await responseCache?.close();
      await entityCache?.close();
      await persistedDocuments.close();
      await supergraph.dispose();
      unobserveRedis();
      redis.disconnect();
    },
  };
}
