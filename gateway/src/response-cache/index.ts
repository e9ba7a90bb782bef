/**
 * The gateway's response cache (off unless GATEWAY_RESPONSE_CACHE=on): answers to anonymous query
 * operations, kept in each gateway process's memory for a time to live and dropped as soon as an
 * event says their data changed. See cache.ts (store and tags), tags.ts (what an answer holds),
 * plugin.ts (which requests it serves) and invalidation.ts (which events drop what).
 */
import { connectNats, type Logger } from '@coursegraph/service-kit';
import { ResponseCache } from './cache.js';
import { startCacheInvalidation } from './invalidation.js';
import { useResponseCache } from './plugin.js';

export { CACHE_HEADER } from './plugin.js';
export { ResponseCache } from './cache.js';

export interface ResponseCacheSettings {
  natsUrl: string;
  ttlMs: number;
  maxEntries: number;
  maxMb: number;
  logger: Logger;
}

/** Results larger than this (characters of JSON) are not kept: a few such pages would crowd out the rest. */
const MAX_ENTRY_CHARS = 512 * 1024;

export async function createResponseCache(settings: ResponseCacheSettings) {
  const logger = settings.logger.child({ component: 'response-cache' });
  const cache = new ResponseCache({
    ttlMs: settings.ttlMs,
    maxEntries: settings.maxEntries,
    // Characters of JSON stand in for bytes: the parsed objects take a few times more, the same order.
    maxTotalChars: settings.maxMb * 1024 * 1024,
    maxEntryChars: MAX_ENTRY_CHARS,
  });
  const nc = await connectNats(settings.natsUrl, { name: 'gateway-response-cache', logger });
  const invalidation = await startCacheInvalidation(nc, cache, logger);
  logger.info({ ttlMs: settings.ttlMs, maxEntries: settings.maxEntries, maxMb: settings.maxMb }, 'response cache on');
  return {
    cache,
    plugin: useResponseCache(cache),
    async close() {
      await invalidation.close();
      await nc.drain().catch(() => undefined);
    },
  };
}
