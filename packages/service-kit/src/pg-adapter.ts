/**
 * A context's PostgreSQL driver adapter for Prisma, built the same way by every subgraph's
 * data/db.ts: a pg pool of its own (so coursegraph_db_pool_connections can read it), handed to
 * @prisma/adapter-pg's PrismaPg, with a span per statement (tracing/sql.ts). Beside the adapter
 * come the pool and, with `hotReads: 'sql'`, the context's plain-SQL hot reads on it (sql-reads.ts).
 *
 *     const { adapter, sql } = pgDriverAdapter(PrismaPg, { connectionString, max: 10, schema: 'payment', hotReads });
 *     new PrismaClient({ adapter });
 *
 * The subgraph passes PrismaPg in: the kit depends on pg, not on Prisma (like tracedSqlAdapter).
 */
import pg from 'pg';
import { observeDatabasePool } from './metrics/health.js';
import { SqlReads, type HotReadsMode } from './sql-reads.js';
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
  /** DB_HOT_READS: 'sql' gives the result a SqlReads on the pool; default 'prisma' (none). */
  hotReads?: HotReadsMode;
  /** The SqlReads' statement log (tests count statements). */
  onQuery?: (sql: string) => void;
}

/**
 * The adapter factory of a context's Prisma client, its pool observed by the metrics and its SQL
 * traced; that pool; and the hot reads on it (null unless `hotReads` is 'sql').
 */
export function pgDriverAdapter<F extends AdapterFactory>(
  PrismaPg: PgAdapterClass<F>,
  { connectionString, max, schema, hotReads = 'prisma', onQuery }: PgDriverAdapterOptions,
): { adapter: F; pool: pg.Pool; sql: SqlReads | null } {
  const pool = new pg.Pool({ connectionString, max });
  // An ended pool drops out of the gauge by itself (metrics/health.ts).
  observeDatabasePool(pool);
  // disposeExternalPool: `$disconnect` ends the pool, as it did when PrismaPg made its own. (A client
  // used again after that gets a new pool from PrismaPg, with the same settings but not observed.)
  return {
    adapter: tracedSqlAdapter(new PrismaPg(pool, { schema, disposeExternalPool: true }), schema),
    pool,
    sql: hotReads === 'sql' ? new SqlReads(pool, schema, onQuery) : null,
  };
}
