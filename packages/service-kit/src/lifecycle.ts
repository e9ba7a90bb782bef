/**
 * What every service does around its app the same way: probe and close its database and Redis,
 * and run: serve, stop background workers (consumers, relays) before the pools they use, exit on
 * SIGTERM/SIGINT.
 */
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { observeDependency } from './metrics/health.js';
import { serviceProcesses } from './processes.js';
import { serve, shutdownOnSignals, type RunningServer, type ServeOptions } from './server.js';
import { stopTracing, tracingReady } from './tracing/sdk.js';

/** The part of any context's Prisma client the probes need. */
export interface DatabaseHandle {
  $queryRawUnsafe(query: string): Promise<unknown>;
  $disconnect(): Promise<void>;
}

/** `/readyz` answers when both respond; `close` releases both. Both are probed at every scrape (coursegraph_dependency_up). */
export function dependencyProbes(db: DatabaseHandle, redis: Redis) {
  const unobserve = [
    observeDependency('postgres', () => db.$queryRawUnsafe('select 1')),
    observeDependency('redis', () => redis.ping()),
  ];
  return {
    ready: async () => {
      await db.$queryRawUnsafe('select 1');
      await redis.ping();
    },
    close: async () => {
      unobserve.forEach((stop) => stop());
      await db.$disconnect();
      redis.disconnect();
    },
  };
}

/** True for a unique-constraint violation, from any context's Prisma client (P2002) or from pg (23505). */
export function isUniqueViolation(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'P2002' || code === '23505';
}

export interface RunServiceOptions {
  /** Shown in the start-up log line. */
  name: string;
  logger: Logger;
  port: number;
  /** The address to listen on (config HTTP_HOST). Default 127.0.0.1. */
  host?: string;
  app: {
    handler: ServeOptions['handler'];
    ready: NonNullable<ServeOptions['ready']>;
    close: () => Promise<void>;
    beforeDrain?: () => Promise<void>;
  };
  /** Stopped in this order on shutdown, after in-flight requests and before `app.close()`. */
  workers?: { stop(): Promise<void> }[];
}

/** Serves a built app until SIGTERM/SIGINT (a service's main module). */
export async function runService({
  name,
  logger,
  port,
  host,
  app,
  workers = [],
}: RunServiceOptions): Promise<RunningServer> {
  // No request is served before its spans can be recorded (at once when tracing is off).
  await tracingReady();
  const running = await serve({
    handler: app.handler,
    logger,
    port,
    host,
    ready: app.ready,
    beforeDrain: app.beforeDrain,
    onShutdown: async () => {
      for (const worker of workers) await worker.stop();
      await app.close();
      // The last spans (the shutdown's own requests and events) are sent before the process exits.
      await stopTracing();
    },
  });
  shutdownOnSignals(running, logger);
  logger.info({ url: `${running.url}/graphql` }, `${name} listening`);
  return running;
}

export interface RunSubgraphOptions<App extends RunServiceOptions['app']> {
  /** The subgraph's name, as in its logs ("course"). */
  name: string;
  logger: Logger;
  config: { port: number; httpHost?: string; processes?: number };
  /** Builds the app (schema, pools, clients); once per serving process. */
  createApp: () => Promise<App>;
  /**
   * Starts what the subgraph does besides serving (outbox relay, consumers, jobs), in the order they
   * are to stop: the relay last, so what the others write to the outbox is still published.
   */
  background?: (app: App) => Promise<{ stop(): Promise<void> }[]>;
}

/**
 * A subgraph's main module: with SUBGRAPH_PROCESSES > 1 (processes.ts) the primary supervises and
 * each process it forks serves; background work runs in one of them only.
 */
export async function runSubgraph<App extends RunServiceOptions['app']>({
  name,
  logger,
  config,
  createApp,
  background,
}: RunSubgraphOptions<App>): Promise<void> {
  const role = serviceProcesses(config.processes ?? 1, logger);
  if (!role.serves) return;
  const app = await createApp();
  const workers = role.background && background ? await background(app) : [];
  await runService({ name: `${name} subgraph`, logger, port: config.port, host: config.httpHost, app, workers });
}
