/**
 * The gateway's subscription engine served on a free port against a NATS server of its own, with
 * what the subscription tests use to drive it: events published straight to JetStream as the
 * relays would, test tokens, and graphql-ws / graphql-sse clients that record what they receive.
 * One set-up for every subscription test file, so they differ only in the options they test.
 */
import path from 'node:path';
import { GraphQLError } from 'graphql';
import WebSocket from 'ws';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { create, toBinary } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createAuthVerifier,
  createLogger,
  createRedis,
  envelopeHeaders,
  ensureStream,
  natsConnectOptions,
  newId,
  newTraceparent,
  serve,
  type EventType,
  type RunningServer,
} from '@coursegraph/service-kit';
import { EnrollmentEvents, NotificationEvents, enrollment } from '@coursegraph/contracts';
import {
  createSubscriptions,
  SSE_PATH,
  type Subscriptions,
  type SubscriptionsOptions,
} from '../../src/subscriptions/index.js';
import { loadSupergraph } from '../../src/supergraph.js';
import {
  ROOT,
  eventually,
  privateNats,
  testIssuer,
  type PrivateNats,
  type TestIssuer,
} from '@coursegraph/test-support';

const SUPERGRAPH = path.join(ROOT, 'schema/supergraph.graphql');

/** What the harness wires itself (schema, auth, NATS, logger, path); a test chooses the rest. */
type Wired = 'apiSchema' | 'verifier' | 'runQuery' | 'natsUrl' | 'logger' | 'webSocketPath';

/**
 * The `createSubscriptions` options a test file is about. `bufferLimit` and `authRecheckMs` are
 * required because tests assert on them; `slowCloseGraceMs` defaults to 10 s.
 */
export type SubscriptionHarnessOptions = Pick<SubscriptionsOptions, 'bufferLimit' | 'authRecheckMs'> &
  Partial<Omit<SubscriptionsOptions, Wired | 'bufferLimit' | 'authRecheckMs'>> & {
    /** The logger's name, so a failing file's warnings say which file they came from. */
    loggerName: string;
  };

/** What one stream received: every result, every error, and when it ended (or got `count` results). */
export interface Received {
  results: Record<string, any>[];
  errors: unknown[];
  done: Promise<void>;
  dispose: () => void;
}

/** How a WebSocket closed, as the client saw it. */
export interface Close {
  code: number;
  reason: string;
}

export interface SubscriptionHarness {
  nc: NatsConnection;
  js: JetStreamClient;
  issuer: TestIssuer;
  redis: ReturnType<typeof createRedis>;
  subscriptions: Subscriptions;
  server: RunningServer;
  wsUrl: string;
  sseUrl: string;
  /** Publishes `event` to JetStream with the envelope headers the relays set; resolves to its stream sequence. */
  publish<E extends EventType>(event: E, init: Record<string, unknown>): Promise<number>;
  /** Publishes an EnrollmentCreated for `userId` (a new user by default). */
  enrolled(userId?: string): Promise<number>;
  /** Publishes a NotificationCreated for `userId`. */
  notified(userId: string, body?: string): Promise<number>;
  /**
   * A connected graphql-ws client and how its socket closed. `ip` sends `x-forwarded-for` on the
   * upgrade (for a gateway that trusts loopback as a proxy); `onSocket` hands over the raw socket,
   * so a test can stop reading from it.
   */
  wsClient(
    token: string | null,
    options?: { ip?: string; onSocket?: (socket: WebSocket) => void },
  ): { client: WsClient; closed: Promise<Close> };
  /** Subscribes over graphql-sse (its own client, disposed with the stream) and records like `wsSubscribe`. */
  sseSubscribe(
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
    count?: number,
    options?: { ip?: string },
  ): Received;
  /** How many streams the hub holds for `subject`. */
  subscribers(subject: string): Promise<number>;
  /** Waits until the hub holds at least `count` streams for `subject` (so the next publish reaches them). */
  joined(subject: string, count: number): Promise<void>;
  /** Closes everything it started, including what a failed start had opened. */
  stop(): Promise<void>;
}

/**
 * Starts a private NATS (with the enrollment and notification streams), a token issuer, Redis, and
 * the subscription engine on both transports at `/graphql` (WebSocket) and the SSE path. Queries
 * through the supergraph are refused: these tests select only scalar event fields.
 */
export async function startSubscriptionHarness(options: SubscriptionHarnessOptions): Promise<SubscriptionHarness> {
  const { loggerName, ...chosen } = options;
  let nats: PrivateNats | undefined;
  let nc: NatsConnection | undefined;
  let redis: ReturnType<typeof createRedis> | undefined;
  let subscriptions: Subscriptions | undefined;
  let server: RunningServer | undefined;
  const stop = async () => {
    await subscriptions?.close();
    await server?.shutdown();
    await nc?.close();
    await nats?.dispose();
    redis?.disconnect();
  };

  try {
    nats = await privateNats();
    await nats.start();
    nc = await connect(natsConnectOptions(nats.url));
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, 'enrollment');
    await ensureStream(jsm, 'notification');
    const issuer = await testIssuer();
    redis = createRedis(process.env.REDIS_URL!);
    const verifier = createAuthVerifier({
      getKey: issuer.getKey,
      issuer: 'coursegraph-identity',
      audience: 'coursegraph',
      redis,
    });
    const supergraph = await loadSupergraph(SUPERGRAPH);
    const logger = createLogger(loggerName, 'warn');
    const engine = (subscriptions = await createSubscriptions({
      apiSchema: supergraph.current().apiSchema,
      verifier,
      runQuery: async () => ({ errors: [new GraphQLError('no subgraphs run in this test')] }),
      // As the gateway's own NATS user: its permissions are what the platform runs with.
      natsUrl: nats.urlAs('gateway'),
      logger,
      webSocketPath: '/graphql',
      slowCloseGraceMs: 10_000,
      ...chosen,
    }));
    server = await serve({
      logger,
      port: 0,
      handler: (req, res) => (req.url?.split('?')[0] === SSE_PATH ? engine.sse(req, res) : res.writeHead(404).end()),
    });
    engine.attach(server.server);
    const wsUrl = server.url.replace('http', 'ws') + '/graphql';
    const sseUrl = server.url + SSE_PATH;

    const publish = async <E extends EventType>(event: E, init: Record<string, unknown>): Promise<number> => {
      const id = newId();
      const context = event.subject.split('.')[0]!;
      const ack = await js.publish(event.subject, toBinary(event.schema, create(event.schema, init as never)), {
        msgID: id,
        headers: envelopeHeaders({
          id,
          subject: event.subject,
          source: context,
          time: new Date(),
          traceparent: newTraceparent(),
        }),
      });
      return ack.seq;
    };
    const subscribers = async (subject: string) => (await engine.hub.subscriberCounts())[subject] ?? 0;

    return {
      nc,
      js,
      issuer,
      redis,
      subscriptions: engine,
      server,
      wsUrl,
      sseUrl,
      publish,
      enrolled: (userId = newId()) =>
        publish(EnrollmentEvents.created, {
          enrollmentId: newId(),
          userId,
          courseId: newId(),
          mode: enrollment.EnrollmentMode.FREE,
          enrolledAt: new Date().toISOString(),
        }),
      notified: (userId, body = 'You are in.') =>
        publish(NotificationEvents.created, {
          notificationId: newId(),
          userId,
          type: 'ENROLLMENT_CREATED',
          category: 'ENROLLMENT',
          title: 'Welcome',
          body,
          createdAt: new Date().toISOString(),
          courseId: '',
        }),
      wsClient: (token, { ip, onSocket } = {}) => {
        let resolveClosed!: (close: Close) => void;
        const closed = new Promise<Close>((resolve) => (resolveClosed = resolve));
        const webSocketImpl =
          ip === undefined
            ? WebSocket
            : class FromIp extends WebSocket {
                constructor(url: string, protocols?: string | string[]) {
                  super(url, protocols, { headers: { 'x-forwarded-for': ip } });
                }
              };
        const client = createWsClient({
          url: wsUrl,
          webSocketImpl,
          retryAttempts: 0,
          lazy: false,
          connectionParams: token ? { authorization: `Bearer ${token}` } : {},
          on: {
            connected: (socket) => onSocket?.(socket as WebSocket),
            closed: (event) =>
              resolveClosed({
                code: (event as { code: number }).code,
                reason: String((event as { reason: unknown }).reason),
              }),
          },
          onNonLazyError: () => undefined,
        });
        return { client, closed };
      },
      sseSubscribe: (token, query, variables = {}, count = Infinity, { ip } = {}) => {
        const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
        if (ip !== undefined) headers['x-forwarded-for'] = ip;
        const client = createSseClient({ url: sseUrl, retryAttempts: 0, headers });
        return record((sink) => {
          const unsubscribe = client.subscribe({ query, variables }, sink);
          return () => {
            unsubscribe();
            client.dispose();
          };
        }, count);
      },
      subscribers,
      joined: async (subject, count) => {
        await eventually(`${count} subscriber(s) of ${subject}`, async () => (await subscribers(subject)) >= count);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Subscribes with graphql-ws and records every result until `count` arrive, an error, or completion. */
export function wsSubscribe(
  client: WsClient,
  query: string,
  variables: Record<string, unknown> = {},
  count = Infinity,
): Received {
  return record((sink) => client.subscribe({ query, variables }, sink), count);
}

interface Sink {
  next: (value: unknown) => void;
  error: (err: unknown) => void;
  complete: () => void;
}

/** Both transports record alike: `subscribe` opens the stream with a sink and returns how to end it. */
function record(subscribe: (sink: Sink) => () => void, count: number): Received {
  const received = { results: [], errors: [] } as unknown as Received;
  received.done = new Promise((resolve) => {
    received.dispose = subscribe({
      next: (value) => {
        received.results.push(value as Record<string, any>);
        if (received.results.length >= count) resolve();
      },
      error: (err) => {
        received.errors.push(err);
        resolve();
      },
      complete: () => resolve(),
    });
  });
  return received;
}
