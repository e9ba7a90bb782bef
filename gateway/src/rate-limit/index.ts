/**
 * Rate limits in Redis, shared by every gateway process (see plugin.ts for what is limited and
 * how refusals look, policies.ts for the table, store.ts for the atomic bucket script).
 */
import type { Logger, Redis } from '@coursegraph/service-kit';
import type { ClientIpResolver } from '../client-ip.js';
import { useRateLimits, type RateLimitPlugin } from './plugin.js';
import { policyTable, type PolicyLimits } from './policies.js';
import { RateLimitStore } from './store.js';

export { useRateLimits, rateLimitedError, type RateLimitPlugin } from './plugin.js';
export { policyTable, rootFieldCounts, type PolicyLimits, type PolicyTable } from './policies.js';
export { RateLimitStore, RateLimitStoreUnavailable } from './store.js';

export interface CreateRateLimitsOptions {
  /** The client the buckets live in (service-kit's createRedis: commands fail after REDIS_COMMAND_TIMEOUT_MS, then the limits fail open). */
  redis: Redis;
  /** The per-minute limits (RATE_LIMIT_* settings). */
  limits: PolicyLimits;
  /** Each request's client address (client-ip.ts). */
  clientIp: ClientIpResolver;
  /** The signed-in user's id, or null. */
  userOf: (request: Request) => Promise<string | null>;
  /** For the outage warning. */
  logger: Logger;
  /** Prefix of every Redis key. Default `gateway:rate-limit:`. */
  keyPrefix?: string;
}

export function createRateLimits(options: CreateRateLimitsOptions): RateLimitPlugin {
  return useRateLimits({
    store: new RateLimitStore(options.redis),
    policies: policyTable(options.limits),
    clientIp: options.clientIp,
    userOf: options.userOf,
    logger: options.logger,
    keyPrefix: options.keyPrefix,
  });
}
