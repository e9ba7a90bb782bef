/**
 * The gateway's subscriptions (docs/adr/0004: @apollo/gateway executes none, so the gateway serves
 * them itself from NATS): one engine (schema, event hub, supergraph query runner) behind two
 * transports, graphql-ws and GraphQL over SSE.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import {
  connectNats,
  observeDependency,
  type AuthVerifier,
  type Logger,
  type OperationLimiter,
} from '@coursegraph/service-kit';
import type { RunQuery } from './execute.js';
import { subscriptionSchema } from './execute.js';
import { followSchema, type SubscriptionEngine } from './subscribe.js';
import { EventHub } from './hub.js';
import { StreamLimits, type StreamLimitsOptions } from './limits.js';
import { sseTransport } from './sse.js';
import { webSocketTransport } from './websocket.js';

export { SUBSCRIPTIONS_SDL, subscriptionSchema } from './execute.js';

export const SSE_PATH = '/graphql/stream';

export interface SubscriptionsOptions {
  apiSchema: GraphQLSchema;
  verifier: AuthVerifier;
  runQuery: RunQuery;
  natsUrl: string;
  logger: Logger;
  /** graphql-ws listens for upgrades here (the GraphQL endpoint's path). */
  webSocketPath: string;
  bufferLimit: number;
  slowCloseGraceMs: number;
  /** How often the token of an open stream is checked again (revocation). */
  authRecheckMs: number;
  /** Open streams allowed per connection, user and client IP (limits.ts). Default: no limit (the gateway passes its settings). */
  limits?: StreamLimitsOptions;
  /** Owner streams (`notificationAdded`): a resume reads at most this many of the stream's latest events. Default: no bound. */
  ownerResumeWindow?: number;
  /** The client's address for a request or WebSocket upgrade (client-ip.ts, with the trusted proxies). Default: the socket's peer. */
  clientIp?: (request: IncomingMessage) => string;
  /** The operation limits queries meet (service-kit createOperationLimiter), applied to each subscription. Default: none. */
  operationLimits?: OperationLimiter | null;
  /** Rate limits drawn once per subscription request (rate-limit/plugin.ts `admit`). Default: none. */
  admit?: (ip: string, userId: string) => Promise<GraphQLError | null>;
}

const UNLIMITED: StreamLimitsOptions = { perConnection: Infinity, perUser: Infinity, perIp: Infinity };
const socketPeer = (request: IncomingMessage) => request.socket.remoteAddress ?? 'unknown';

export async function createSubscriptions(options: SubscriptionsOptions) {
  const logger = options.logger.child({ component: 'subscriptions' });
  const nc = await connectNats(options.natsUrl, { name: 'gateway-subscriptions', logger });
  // The gateway's NATS health at every scrape (coursegraph_dependency_up), through the streams' connection.
  const unobserveNats = observeDependency('nats', () => nc.rtt());
  const hub = new EventHub({ nc, logger, bufferLimit: options.bufferLimit });
  const limits = new StreamLimits(options.limits ?? UNLIMITED);
  const engine: SubscriptionEngine = {
    schema: subscriptionSchema(options.apiSchema),
    open: new Set(),
    hub,
    runQuery: options.runQuery,
    limits,
    ownerResumeWindow: options.ownerResumeWindow ?? Infinity,
    operationLimits: options.operationLimits ?? null,
    admit: options.admit,
  };
  const common = {
    engine,
    verifier: options.verifier,
    logger,
    slowCloseGraceMs: options.slowCloseGraceMs,
    authRecheckMs: options.authRecheckMs,
    clientIp: options.clientIp ?? socketPeer,
  };
  const webSocket = webSocketTransport({ ...common, path: options.webSocketPath });
  const sse = sseTransport(common);
  return {
    get schema() {
      return engine.schema;
    },
    hub,
    limits,
    sse: sse.handle,
    attach: (server: Server) => webSocket.attach(server),
    /**
     * A reloaded supergraph's API schema: open streams still valid on it go on, the others end
     * with SCHEMA_CHANGED (subscribe.ts followSchema). Throws, changing nothing, when the
     * subscriptions' own types cannot extend it (call `subscriptionSchema` first to check).
     */
    followSchema(apiSchema: GraphQLSchema) {
      const result = followSchema(engine, subscriptionSchema(apiSchema));
      logger.info(result, 'subscriptions follow the new supergraph');
      return result;
    },
    /** Ends every stream with a reason, then lets go of NATS. */
    async close() {
      sse.close();
      await hub.close();
      await webSocket.close();
      unobserveNats();
      await nc.drain().catch(() => undefined);
    },
  };
}

export type Subscriptions = Awaited<ReturnType<typeof createSubscriptions>>;
