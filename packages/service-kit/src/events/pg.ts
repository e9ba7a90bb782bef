/**
 * A `Transaction` over a plain `pg` pool, for code that has no Prisma client: scripts, benchmarks,
 * tests. The executor offers Prisma's two raw methods, so handlers written against them run on both.
 */
import type pg from 'pg';
import type { SqlExecutor, Transaction } from './types.js';

export interface PgExecutor extends SqlExecutor {
  $queryRawUnsafe<T = Record<string, unknown>>(query: string, ...values: unknown[]): Promise<T[]>;
  /** The underlying client, inside the transaction. */
  client: pg.PoolClient;
}

export function pgTransaction(pool: pg.Pool): Transaction<PgExecutor> {
  return async (fn) => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('begin');
      const result = await fn({
        client,
        $executeRawUnsafe: async (query, ...values) => (await client.query(query, values)).rowCount ?? 0,
        $queryRawUnsafe: async <T>(query: string, ...values: unknown[]) =>
          (await client.query(query, values)).rows as T[],
      });
      await client.query('commit');
      return result;
    } catch (err) {
      // A connection that cannot even roll back is discarded, not returned to the pool.
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };
}
