/**
 * What every service does around its app the same way: probe and close its database and Redis,
 * and run: serve, stop background workers (consumers, relays) before the pools they use, exit on
 * SIGTERM/SIGINT.
 */
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { serve, shutdownOnSignals, type RunningServer, type ServeOptions } from './server.js';

/** The part of any context's Prisma client the probes need. */
export interface DatabaseHandle {
  $queryRawUnsafe(query: string): Promise<unknown>;
  $disconnect(): Promise<void>;
}

/** `/readyz` answers when both respond; `close` releases both. */
export function dependencyProbes(db: DatabaseHandle, redis: Redis) {
  return {
    ready: async () => {
      await db.$queryRawUnsafe('select 1');
      await redis.ping();
    },
    close: async () => {
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
    },
  });
  shutdownOnSignals(running, logger);
  logger.info({ url: `${running.url}/graphql` }, `${name} listening`);
  return running;
}
