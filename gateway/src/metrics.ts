/**
 * The gateway's own Prometheus metrics (docs/metrics.md), on the kit's registry beside the GraphQL
 * request metrics every service has: each subgraph fetch, open subscriptions and the events they
 * delivered, the response cache's answers, the entity cache's, and Redis's health. Served at /metrics on the gateway's
 * port, to loopback and METRICS_ALLOWED_CIDRS only (the kit's server).
 */
import {
  OTHER_OPERATION,
  counter,
  gauge,
  histogram,
  metricsEnabled,
  observeDependency,
  type Redis,
} from '@coursegraph/service-kit';
import { requestClient } from './request-client.js';

const SERVICE = 'gateway';

const fetchDuration = histogram(
  'coursegraph_subgraph_fetch_duration_seconds',
  'Time of one subgraph call made by the gateway, answer read in full (calls not made are not timed)',
  ['service', 'subgraph'],
);
const fetches = counter(
  'coursegraph_subgraph_fetch_total',
  "Subgraph calls by outcome: ok (an answer), error (5xx, 4xx, unreachable, unreadable or too large), timeout (the call's or the request's), circuit_open (not made)",
  ['service', 'subgraph', 'outcome'],
);
const subscriptionsActive = gauge(
  'coursegraph_subscriptions_active',
  'Subscription streams open at the gateway, by root field',
  ['service', 'field'],
);
const delivered = counter(
  'coursegraph_subscription_events_delivered_total',
  'Events sent to subscribers, one per subscriber and event, by root field',
  ['service', 'field'],
);
const cacheRequests = counter(
  'coursegraph_response_cache_requests_total',
  'Query operations seen by the response cache: hit (served from it), miss (executed, then kept if it may be), bypass (signed in or incremental: never cached)',
  ['service', 'result'],
);

const entityCacheRequests = counter(
  'coursegraph_entity_cache_requests_total',
  'Entities asked of subgraphs through _entities calls, as the entity cache saw them: hit (served from Redis), miss (fetched, then kept if it may be), bypass (a call it does not serve: a private field selected, not an entity call, Redis or the invalidation feed down)',
  ['service', 'subgraph', 'result'],
);

export type SubgraphFetchOutcome = 'ok' | 'error' | 'timeout' | 'circuit_open';

/** One subgraph call's outcome, and its duration when it was made. */
export function recordSubgraphFetch(subgraph: string, outcome: SubgraphFetchOutcome, seconds?: number): void {
  if (!metricsEnabled()) return;
  fetches.inc({ service: SERVICE, subgraph, outcome });
  if (seconds !== undefined) fetchDuration.observe({ service: SERVICE, subgraph }, seconds);
}

/** One response-cache decision (the `x-cache` header's value, lower-cased). */
export function recordResponseCache(result: 'HIT' | 'MISS' | 'BYPASS'): void {
  if (metricsEnabled()) cacheRequests.inc({ service: SERVICE, result: result.toLowerCase() });
}

/** `count` entities of one subgraph call, as the entity cache served them. */
export function recordEntityCache(subgraph: string, result: 'hit' | 'miss' | 'bypass', count: number): void {
  if (metricsEnabled() && count > 0) entityCacheRequests.inc({ service: SERVICE, subgraph, result }, count);
}

export interface TrackedSubscription {
  /** One event sent to this subscriber. */
  delivered(): void;
  /** The stream ended (idempotent: every way a stream ends may call it). */
  closed(): void;
}

/** Counts an open subscription stream of `field` until it ends. */
export function trackSubscription(field: string): TrackedSubscription {
  if (!metricsEnabled()) return { delivered: () => {}, closed: () => {} };
  subscriptionsActive.inc({ service: SERVICE, field });
  let open = true;
  return {
    delivered: () => delivered.inc({ service: SERVICE, field }),
    closed: () => {
      if (open) subscriptionsActive.dec({ service: SERVICE, field });
      open = false;
    },
  };
}

/**
 * The `operation` label of a gateway request: its operation's name when the document is registered
 * (one of the project's persisted documents, by id or by text, or a partner's: the persisted-documents
 * plugin notes it), else `other`. Registered documents are a bounded set; names sent with arbitrary
 * text are not, and never become labels.
 */
export function gatewayOperationLabel(request: Request, operationName: string | undefined): string {
  return operationName && requestClient(request).documentId ? operationName : OTHER_OPERATION;
}

/** Redis's health at every scrape (NATS's is reported by the subscriptions' connection). */
export function observeGatewayRedis(redis: Redis): () => void {
  return observeDependency('redis', () => redis.ping());
}
