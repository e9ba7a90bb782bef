/**
 * Automatic persisted queries (Apollo's protocol, @graphql-yoga/plugin-apq) for clients without a
 * build step: a client sends the sha256 of its document in `extensions.persistedQuery`; on a miss
 * (PersistedQueryNotFound) it sends hash and text once, which registers the text for every gateway
 * process (Redis, `apq:<hash>`, for a time to live). In enforce mode only the project's own
 * documents may be registered, by their exact text: anything else would be refused anyway.
 * Redis being down makes every lookup a miss (the client then sends the text) and registers
 * nothing: APQ saves bytes, it never decides whether a request is served.
 */
import { useAPQ, type APQStore } from '@graphql-yoga/plugin-apq';
import type { Plugin } from 'graphql-yoga';
import type { Logger, Redis } from '@coursegraph/service-kit';
import type { FirstPartyManifest } from './first-party.js';

export const APQ_KEY_PREFIX = 'apq:';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface ApqOptions {
  redis: Redis;
  /** How long a registered document is kept after its registration. */
  ttlSeconds: number;
  /** True: register only documents of `firstParty` (enforce mode). */
  onlyFirstParty: boolean;
  firstParty: FirstPartyManifest;
  logger: Logger;
  /** Key prefix; default `apq:` (tests use their own). */
  keyPrefix?: string;
}

export function redisApqStore(options: ApqOptions): APQStore {
  const { redis, logger } = options;
  const prefix = options.keyPrefix ?? APQ_KEY_PREFIX;
  return {
    async get(hash) {
      if (!SHA256_HEX.test(hash)) return null;
      try {
        return await redis.get(`${prefix}${hash}`);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'APQ store unavailable (Redis): answered as a miss');
        return null;
      }
    },
    // Called once the plugin has checked that `hash` is the text's sha256. The text is within the
    // request body limit (MAX_REQUEST_BODY_BYTES) or a URL's, which bound what may be stored.
    async set(hash, query) {
      if (options.onlyFirstParty && !options.firstParty.get(hash)) return;
      try {
        await redis.set(`${prefix}${hash}`, query, 'EX', options.ttlSeconds);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'APQ store unavailable (Redis): document not registered');
      }
    },
  };
}

export const useRedisApq = (options: ApqOptions): Plugin => useAPQ({ store: redisApqStore(options) });
