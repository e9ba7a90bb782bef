/**
 * A context's PostgreSQL driver adapter for Prisma, built the same way by every subgraph's
 * data/db.ts: a pg pool of its own (so coursegraph_db_pool_connections can read it), handed to
 * @prisma/adapter-pg's PrismaPg, with a span per statement (tracing/sql.ts).
 *
 *     new PrismaClient({ adapter: pgDriverAdapter(PrismaPg, { connectionString, max: 10, schema: 'payment' }) })
 *
 * The subgraph passes PrismaPg in: the kit depends on pg, not on Prisma (like tracedSqlAdapter).
 */
import pg from 'pg';
import { observeDatabasePool } from './metrics/health.js';
import { tracedSqlAdapter, type AdapterFactory } from './tracing/sql.js';

/** What the kit needs of PrismaPg: built on an existing pool, with the schema and who ends the pool. */
export type PgAdapterClass<F extends AdapterFactory> = new (
  pool: pg.Pool,
  options: { schema: string; disposeExternalPool: boolean },
) => F;

export interface PgDriverAdapterOptions {
  connectionString: string;
  /** The pool's size. */
  max: number;
  /** The context's PostgreSQL schema; also the `db.namespace` of its SQL spans. */
  schema: string;
}

/** The adapter factory of a context's Prisma client, its pool observed by the metrics and its SQL traced. */
export function pgDriverAdapter<F extends AdapterFactory>(
  PrismaPg: PgAdapterClass<F>,
  { connectionString, max, schema }: PgDriverAdapterOptions,
): F {
  const pool = new pg.Pool({ connectionString, max });
  // An ended pool drops out of the gauge by itself (metrics/health.ts).
  observeDatabasePool(pool);
  // disposeExternalPool: `$disconnect` ends the pool, as it did when PrismaPg made its own. (A client
  // used again after that gets a new pool from PrismaPg, with the same settings but not observed.)
  return tracedSqlAdapter(new PrismaPg(pool, { schema, disposeExternalPool: true }), schema);
}
