import { PrismaPg } from '@prisma/adapter-pg';
import { pgDriverAdapter, type HotReadsMode, type SqlReads } from '@coursegraph/service-kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;

/**
 * Identity's database, as identity's own role through the pg driver adapter: the Prisma client, and the
 * hot reads' plain SQL on the same pool (data/hot-reads.ts; null when `hotReads` is prisma, the default).
 */
export function createDatabase(
  databaseUrl: string,
  { poolSize = 10, hotReads = 'prisma' }: { poolSize?: number; hotReads?: HotReadsMode } = {},
): { db: PrismaClient; sql: SqlReads | null } {
  const { adapter, sql } = pgDriverAdapter(PrismaPg, {
    connectionString: databaseUrl,
    max: poolSize,
    schema: 'identity',
    hotReads,
  });
  return { db: new PrismaClient({ adapter }), sql };
}

/** Identity's Prisma client alone (consumers, seeds, scripts: no hot reads). */
export function createDb(databaseUrl: string, poolSize = 10): PrismaClient {
  return createDatabase(databaseUrl, { poolSize }).db;
}
