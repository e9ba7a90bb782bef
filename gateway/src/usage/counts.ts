/**
 * What one gateway process counted since its last report, per (client, clientVersion, partnerId,
 * operationName, documentId). The key's parts come partly from request headers, so the number of
 * distinct keys is bounded: past `maxKeys`, new keys are counted together under OVERFLOW_OPERATION
 * (hostile headers cannot grow memory or the reports).
 */
import { latencyBucket, USAGE_LATENCY_BUCKETS_MS } from './buckets.js';

/** A request whose document never parsed (refused before, or not GraphQL). */
export const UNPARSED_OPERATION = '(unparsed)';
/** Every key beyond the per-period bound, together. */
export const OVERFLOW_OPERATION = '(other)';

export interface UsageKey {
  client: string;
  clientVersion: string;
  partnerId: string;
  operationName: string;
  documentId: string;
}

export interface UsageCount extends UsageKey {
  requests: number;
  errors: number;
  unregistered: number;
  latencyMsTotal: number;
  latencyBuckets: number[];
}

export interface RequestOutcome {
  error: boolean;
  unregistered: boolean;
  latencyMs: number;
}

const OVERFLOW_KEY: UsageKey = {
  client: '',
  clientVersion: '',
  partnerId: '',
  operationName: OVERFLOW_OPERATION,
  documentId: '',
};

const keyString = (k: UsageKey) =>
  JSON.stringify([k.client, k.clientVersion, k.partnerId, k.operationName, k.documentId]);

export class UsageCounts {
  private counts = new Map<string, UsageCount>();
  /** When the oldest count not yet reported was taken. */
  private since = new Date();

  constructor(private readonly maxKeys: number) {}

  get size(): number {
    return this.counts.size;
  }

  record(key: UsageKey, outcome: RequestOutcome): void {
    const count = this.entry(key);
    const latencyMs = Math.max(0, Math.round(outcome.latencyMs));
    count.requests++;
    if (outcome.error) count.errors++;
    if (outcome.unregistered) count.unregistered++;
    count.latencyMsTotal += latencyMs;
    count.latencyBuckets[latencyBucket(latencyMs)]!++;
  }

  /** Everything counted since the last take, and the period it covers; the counts start again empty. */
  take(now = new Date()): { periodStart: Date; periodEnd: Date; counts: UsageCount[] } {
    const taken = { periodStart: this.since, periodEnd: now, counts: [...this.counts.values()] };
    this.counts = new Map();
    this.since = now;
    return taken;
  }

  /** Counts a report could not deliver, added back so the next report carries them (from their start). */
  restore(periodStart: Date, counts: UsageCount[]): void {
    if (periodStart < this.since) this.since = periodStart;
    for (const c of counts) {
      const count = this.entry(c);
      count.requests += c.requests;
      count.errors += c.errors;
      count.unregistered += c.unregistered;
      count.latencyMsTotal += c.latencyMsTotal;
      c.latencyBuckets.forEach((n, i) => (count.latencyBuckets[i]! += n));
    }
  }

  private entry(key: UsageKey): UsageCount {
    let id = keyString(key);
    let count = this.counts.get(id);
    if (count) return count;
    if (this.counts.size >= this.maxKeys) {
      key = OVERFLOW_KEY;
      id = keyString(key);
      count = this.counts.get(id);
      if (count) return count;
    }
    count = {
      client: key.client,
      clientVersion: key.clientVersion,
      partnerId: key.partnerId,
      operationName: key.operationName,
      documentId: key.documentId,
      requests: 0,
      errors: 0,
      unregistered: 0,
      latencyMsTotal: 0,
      latencyBuckets: new Array<number>(USAGE_LATENCY_BUCKETS_MS.length + 1).fill(0),
    };
    this.counts.set(id, count);
    return count;
  }
}
