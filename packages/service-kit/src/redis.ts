/**
 * Every Redis client of the platform. Redis sits on the request path (token revocation, login
 * lock-out, rate limits), so no command may wait on it for long: each one fails after
 * REDIS_COMMAND_TIMEOUT_MS (connected but silent, as when the server is paused, or not connected
 * at all), and its caller applies its documented policy for Redis being down:
 *
 * - token revocation check (auth.ts `verify`): fail open, with a warning (see there why);
 * - login lock-out and rate limits: stated where they are kept;
 * - the gateway's response cache is in memory: no Redis.
 *
 * The client reconnects by itself (50 ms, growing to 2 s between tries) and queues nothing
 * for longer than the command timeout.
 */
import { Redis } from 'ioredis';
import { commonSettings, readConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';

export interface RedisClientOptions {
  /** The longest one command may take. Default: REDIS_COMMAND_TIMEOUT_MS (300 ms). */
  commandTimeoutMs?: number;
  /** Where connection errors go (one warning per 10 s at most). Default: a logger named `redis`. */
  logger?: Pick<Logger, 'warn'>;
}

/** At most one connection warning per client this often, however often it retries. */
const CONNECTION_WARNING_EVERY_MS = 10_000;

const commandTimeoutSetting = { redisCommandTimeoutMs: commonSettings.redisCommandTimeoutMs };

export function createRedis(url: string, options: RedisClientOptions = {}): Redis {
  // Read like every setting (services validate it at start-up with commonSettings), so no call site has to pass it.
  const commandTimeout = options.commandTimeoutMs ?? readConfig(commandTimeoutSetting).redisCommandTimeoutMs;
  const redis = new Redis(url, {
    commandTimeout,
    // A server that accepts the TCP connection but never answers the handshake is retried.
    connectTimeout: Math.max(1_000, commandTimeout * 4),
    // Commands sent while disconnected wait in the offline queue, bounded by commandTimeout,
    // so those issued in the first milliseconds of a service (before the connection) succeed.
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * times, 2_000),
    lazyConnect: false,
  });
  // Without a listener ioredis prints every failed reconnect to stderr; one JSON line now and then says enough.
  const logger = options.logger ?? createLogger('redis');
  let lastWarningMs = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastWarningMs < CONNECTION_WARNING_EVERY_MS) return;
    lastWarningMs = now;
    logger.warn({ err: err.message }, 'Redis connection error; reconnecting');
  });
  return redis;
}

export type { Redis };
