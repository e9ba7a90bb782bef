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
  "Connections of the service's PostgreSQL pool: total open, idle, and requests waiting for one",
  ['service', 'state'],
);

/** Reports a pg pool's connections (total, idle, waiting) at every scrape until the returned function is called. */
export function observeDatabasePool(pool: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>): () => void {
  if (!metricsEnabled()) return () => {};
  const stops = [
    poolConnections.observe({ state: 'total' }, async () => pool.totalCount),
    poolConnections.observe({ state: 'idle' }, async () => pool.idleCount),
    poolConnections.observe({ state: 'waiting' }, async () => pool.waitingCount),
  ];
  return () => stops.forEach((stop) => stop());
}
