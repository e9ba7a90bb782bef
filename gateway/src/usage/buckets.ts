/**
 * Upper bounds (ms, inclusive) of the latency buckets the gateway counts requests in; one more bucket
 * holds everything slower. identity keeps the same list to read percentiles from the summed buckets
 * (subgraphs/identity/src/domain/operation-usage.ts; test/usage-buckets.test.ts keeps them equal).
 */
export const USAGE_LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/** The bucket a latency falls in: the first bound it does not exceed, or the last (overflow) bucket. */
export function latencyBucket(ms: number): number {
  const i = USAGE_LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? USAGE_LATENCY_BUCKETS_MS.length : i;
}
