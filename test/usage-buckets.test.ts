/**
 * The gateway counts request latencies in buckets and identity reads percentiles from them: both
 * must use the same bounds, or identity would name the wrong latencies. They cannot share code (the
 * gateway and identity are separate services), so this checks the two lists are equal.
 */
import { describe, expect, it } from 'vitest';
import { USAGE_LATENCY_BUCKETS_MS } from '../gateway/src/usage/buckets.js';
import { LATENCY_BUCKET_BOUNDS_MS } from '../subgraphs/identity/src/domain/operation-usage.js';

describe('usage latency buckets', () => {
  it('are the same in the gateway and in identity, in increasing order', () => {
    expect(LATENCY_BUCKET_BOUNDS_MS).toEqual(USAGE_LATENCY_BUCKETS_MS);
    expect([...USAGE_LATENCY_BUCKETS_MS].sort((a, b) => a - b)).toEqual(USAGE_LATENCY_BUCKETS_MS);
  });
});
