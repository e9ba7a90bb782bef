/**
 * Subscriptions over WebSocket with the graphql-ws protocol (`graphql-transport-ws`) at
 * ws://…/graphql. The access token comes in `connection_init`'s payload (`{ authorization:
 * "Bearer …" }`) or in the upgrade request's Authorization header; the connection is closed with
 * 4401 and the reason when it is bad or when it expires, with 1008 when a subscriber is too slow.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { AuthVerifier, Logger } from '@coursegraph/service-kit';
import { verifyCaller, watchCaller, type VerifiedCaller } from './caller.js';
import type { StreamEnded } from './stream-ended.js';
import { prepareSubscription, type SubscriptionEngine } from './subscribe.js';

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_SLOW_SUBSCRIBER = 1008;
export const CLOSE_GOING_AWAY = 1001;

/** The context graphql-ws hands back to `subscribe`: the stream prepareSubscription opened. */
type OperationContext = { results: AsyncGenerator<ExecutionResult> };

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
  caller?: VerifiedCaller;
};

export interface WebSocketTransportOptions {
  engine: SubscriptionEngine;
  verifier: AuthVerifier;
  logger: Logger;
  path: string;
  /** After a close for a slow subscriber, how long its socket gets to take the close frame. */
  slowCloseGraceMs: number;
  /** How often a signed-in caller's token is checked again for revocation. */
  authRecheckMs: number;
  /** The client's address, from the upgrade request. */
  clientIp: (request: IncomingMessage) => string;
}

/** Close reasons are limited to 123 bytes by the protocol. */
const reasonText = (text: string) => (Buffer.byteLength(text) <= 123 ? text : `${text.slice(0, 110)}…`);

export function webSocketTransport({
  engine,
  verifier,
  logger,
  path,
  slowCloseGraceMs,
  authRecheckMs,
  clientIp,
}: WebSocketTransportOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const cancels = new WeakMap<WebSocket, () => void>();

  const closeSocket = (socket: WebSocket, code: number, reason: string, graceMs = 0) => {
    socket.close(code, reasonText(reason));
    // A client that is not reading never answers the close: cut it after the grace period.
    if (graceMs > 0) setTimeout(() => socket.terminate(), graceMs).unref();
  };

  const disposable = useServer<Record<string, unknown> | undefined, Extra>(
    {
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        try {
          const params = ctx.connectionParams ?? {};
          const fromParams = params.authorization ?? params.Authorization ?? params.token;
          ctx.extra.caller = await verifyCaller(verifier, fromParams ?? ctx.extra.request.headers.authorization);
        } catch (err) {
          closeSocket(socket, CLOSE_UNAUTHORIZED, (err as GraphQLError).message);
          return false;
        }
        cancels.set(
          socket,
          watchCaller(ctx.extra.caller, { verifier, recheckMs: authRecheckMs, logger }, (end) =>
            closeSocket(socket, CLOSE_UNAUTHORIZED, end.message, slowCloseGraceMs),
          ),
        );
        socket.once('close', () => cancels.get(socket)?.());
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const socket = ctx.extra.socket;
        const onEnded = (ended: StreamEnded) => {
          logger.info({ transport: 'ws', subscription: id, reason: ended.reason }, 'subscription ended by the gateway');
          if (ended.reason === 'SLOW_SUBSCRIBER')
            closeSocket(socket, CLOSE_SLOW_SUBSCRIBER, ended.message, slowCloseGraceMs);
          else if (ended.reason === 'SHUTTING_DOWN')
            closeSocket(socket, CLOSE_GOING_AWAY, ended.message, slowCloseGraceMs);
          // STREAM_FAILED: the error reaches the client as this subscription's `error` message.
        };
        // Every subscription of this socket counts against it, its user and its client's address.
        const connection = { connection: socket, ip: clientIp(ctx.extra.request) };
        const prepared = await prepareSubscription(
          engine,
          payload,
          ctx.extra.caller ?? { viewer: null, token: null },
          connection,
          onEnded,
        );
        if (!prepared.ok) return prepared.errors;
        return {
          schema: engine.schema,
          document: prepared.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: { results: prepared.results } satisfies OperationContext,
        };
      },
      subscribe: (args) => (args.contextValue as OperationContext).results,
      onError: (_ctx, id, _payload, errors) => {
        logger.info(
          { transport: 'ws', subscription: id, errors: errors.map((e) => e.message) },
          'subscription refused',
        );
      },
    },
    wss,
  );

  return {
    /** Takes the HTTP server's upgrade requests for `path`; others are refused. */
    attach(server: Server) {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (request.url?.split('?')[0] !== path) {
          socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
          return;
        }
        wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
      });
    },
    async close() {
      for (const client of wss.clients)
        closeSocket(client, CLOSE_GOING_AWAY, 'The gateway is shutting down; reconnect with your last position.');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
