import { Redis } from 'ioredis';

/** A Redis client that fails commands fast while the server is away instead of queueing them forever. */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
}

export type { Redis };
