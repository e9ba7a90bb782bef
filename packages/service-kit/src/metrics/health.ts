/**
 * The health of a service's dependencies, read at every scrape: coursegraph_dependency_up (1 when
 * the dependency answered within the scrape timeout, else 0) and coursegraph_db_pool_connections.
 * PostgreSQL and Redis are registered by dependencyProbes (lifecycle.ts), NATS by each outbox relay
 * and consumer with its own connection (events.ts).
 */
import type pg from 'pg';
import { metricsEnabled, scrapedGauge } from './registry.js';

export type Dependency = 'postgres' | 'redis' | 'nats';

const up = scrapedGauge(
  'coursegraph_dependency_up',
  'Whether a dependency answered a probe at this scrape (1) or not, or not in time (0)',
  ['service', 'dependency'],
  0,
);

/**
 * Probes `dependency` at every scrape until the returned function is called: up when `probe`
 * resolves in time. Several probes of one dependency (a relay's and a consumer's NATS connection):
 * up only when all answer.
 */
export function observeDependency(dependency: Dependency, probe: () => Promise<unknown>): () => void {
  return up.observe({ dependency }, async () => {
    await probe();
    return 1;
  });
}

const poolConnections = scrapedGauge(
  'coursegraph_db_pool_connections',
  "Connections of the service's PostgreSQL pools: total open, idle, and requests waiting for one",
  ['service', 'state'],
);

type PoolCounts = Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'> & { readonly ended?: boolean };
const pools = new Set<PoolCounts>();
const COUNTS = {
  total: (pool: PoolCounts) => pool.totalCount,
  idle: (pool: PoolCounts) => pool.idleCount,
  waiting: (pool: PoolCounts) => pool.waitingCount,
};
let reading = false;

/** The sum of `count` over the open pools. An ended pool (its Prisma client disconnected) leaves the set. */
const sum = (count: (pool: PoolCounts) => number) => async () => {
  for (const pool of pools) if (pool.ended) pools.delete(pool);
  // No open pool: the series is left out of this scrape (a failed read), rather than reading 0.
  if (pools.size === 0) throw new Error('no open pool');
  return [...pools].reduce((total, pool) => total + count(pool), 0);
};

/**
 * Reports a pg pool's connections (total, idle, waiting) at every scrape until it ends or the
 * returned function is called. A service holds several pools (its resolvers', its consumers'): the
 * series are their sums, which is what PostgreSQL's max_connections and a starved request see.
 */
export function observeDatabasePool(pool: PoolCounts): () => void {
  if (!metricsEnabled()) return () => {};
  if (!reading) {
    reading = true;
    for (const [state, count] of Object.entries(COUNTS)) poolConnections.observe({ state }, sum(count));
  }
  pools.add(pool);
  return () => void pools.delete(pool);
}
