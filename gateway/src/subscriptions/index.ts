/**
 * The gateway's subscriptions (DESIGN.md §4: @apollo/gateway executes none, so the gateway serves
 * them itself from NATS): one engine (schema, event hub, supergraph query runner) behind two
 * transports, graphql-ws and GraphQL over SSE.
 */
import type { Server } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import { connectNats, type AuthVerifier, type Logger } from '@coursegraph/service-kit';
import type { RunQuery } from './execute.js';
import { subscriptionSchema } from './execute.js';
import { EventHub } from './hub.js';
import { sseTransport } from './sse.js';
import { webSocketTransport } from './websocket.js';

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
}

export async function createSubscriptions(options: SubscriptionsOptions) {
  const logger = options.logger.child({ component: 'subscriptions' });
  const nc = await connectNats(options.natsUrl, { name: 'gateway-subscriptions', logger });
  const hub = new EventHub({ nc, logger, bufferLimit: options.bufferLimit });
  const engine = { schema: subscriptionSchema(options.apiSchema), hub, runQuery: options.runQuery };
  const common = { engine, verifier: options.verifier, logger, slowCloseGraceMs: options.slowCloseGraceMs, authRecheckMs: options.authRecheckMs };
  const webSocket = webSocketTransport({ ...common, path: options.webSocketPath });
  const sse = sseTransport(common);
  return {
    schema: engine.schema,
    hub,
    sse: sse.handle,
    attach: (server: Server) => webSocket.attach(server),
    /** Ends every stream with a reason, then lets go of NATS. */
    async close() {
      sse.close();
      await hub.close();
      await webSocket.close();
      await nc.drain().catch(() => undefined);
    },
  };
}

export type Subscriptions = Awaited<ReturnType<typeof createSubscriptions>>;
