/**
 * Rate-limit buckets in Redis, shared by every gateway process: GCRA (the generic cell rate
 * algorithm, a leaky bucket kept as one timestamp per key), evaluated by one Lua script over all the
 * buckets a request touches, so the decision is atomic: either every bucket pays, or none does and
 * the request is refused. The clock is Redis's own (TIME), so gateways with skewed clocks agree.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '@coursegraph/service-kit';

/** One bucket a request draws from. */
export interface Bucket {
  key: string;
  /** Units allowed per window (also the largest burst). */
  limit: number;
  windowMs: number;
  /** Units this request takes (a root field named N times takes N). */
  cost: number;
}

export interface BucketState {
  /** Units still available after this request. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

export interface Decision {
  allowed: boolean;
  /** When refused: milliseconds until the request would be allowed. */
  retryAfterMs: number;
  /** One per bucket, in the order given. */
  states: BucketState[];
}

/** Redis did not answer in time, or failed: the caller decides whether that fails open or closed. */
export class RateLimitStoreUnavailable extends Error {}

// KEYS: the buckets. ARGV: limit, window (ms), cost, for each bucket in turn.
// The theoretical arrival time (TAT) of a bucket is when it would be empty again; a request is
// allowed when, after adding its cost, the TAT is at most one window ahead of now.
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local tats = {}
local refused = 0
local retry = 0
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local interval = window / limit
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local after = tat + cost * interval
  if after - window > now then
    refused = 1
    if after - window - now > retry then retry = after - window - now end
    tats[i] = tat
  else
    tats[i] = after
  end
end
local out = { refused, math.ceil(retry) }
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local interval = window / limit
  local tat = tats[i]
  if refused == 0 then
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.max(1, math.ceil(tat - now)))
  end
  out[#out + 1] = math.max(0, math.floor((window - (tat - now)) / interval))
  out[#out + 1] = math.max(0, math.ceil(tat - now))
end
return out
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** Buckets in `redis`, a client of the kit's createRedis: its commands fail after REDIS_COMMAND_TIMEOUT_MS. */
export class RateLimitStore {
  constructor(private readonly redis: Redis) {}

  /** Takes `cost` from every bucket, or from none when one of them cannot pay. */
  async take(buckets: Bucket[]): Promise<Decision> {
    if (buckets.length === 0) return { allowed: true, retryAfterMs: 0, states: [] };
    const args = buckets.flatMap((b) => [String(b.limit), String(b.windowMs), String(b.cost)]);
    const keys = buckets.map((b) => b.key);
    let raw: number[];
    try {
      raw = (await this.run(keys, args)) as number[];
    } catch (err) {
      throw new RateLimitStoreUnavailable((err as Error).message);
    }
    const states: BucketState[] = buckets.map((_, i) => ({
      remaining: Number(raw[2 + 2 * i]),
      resetMs: Number(raw[3 + 2 * i]),
    }));
    return { allowed: raw[0] === 0, retryAfterMs: Number(raw[1]), states };
  }

  /** EVALSHA, loading the script the first time a Redis server has not seen it. */
  private async run(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(SHA, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(SCRIPT, keys.length, ...keys, ...args);
    }
  }
}
