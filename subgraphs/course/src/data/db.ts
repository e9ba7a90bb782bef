import { PrismaPg } from '@prisma/adapter-pg';
import { pgDriverAdapter, type HotReadsMode, type SqlReads } from '@coursegraph/service-kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';
import { lessonDurationOmit } from './lesson-duration.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;
/** Reads that work both outside and inside a transaction. */
export type Reader = PrismaClient | Tx;

export interface DatabaseOptions {
  /** Default 10. */
  poolSize?: number;
  /** Sees every SQL statement, Prisma's and the hot reads' (tests count them to prove there is no N+1). */
  onQuery?: (sql: string) => void;
  /** DB_HOT_READS: sql gives the hot reads (data/hot-reads.ts) their plain SQL. Default prisma. */
  hotReads?: HotReadsMode;
}

/**
 * Course's database, as course's own role through the pg driver adapter: the Prisma client, and the
 * hot reads' plain SQL on the same pool (null when they go through Prisma).
 */
export function createDatabase(
  databaseUrl: string,
  { poolSize = 10, onQuery, hotReads = 'prisma' }: DatabaseOptions = {},
): { db: PrismaClient; sql: SqlReads | null } {
  const { adapter, sql } = pgDriverAdapter(PrismaPg, {
    connectionString: databaseUrl,
    max: poolSize,
    schema: 'course',
    hotReads,
    ...(onQuery ? { onQuery } : {}),
  });
  // The lesson-duration phase may hide a column from every query (data/lesson-duration.ts); the
  // client's type stays the final schema's. (Prisma refuses `omit: undefined`.)
  const omit: Prisma.GlobalOmitConfig | undefined = lessonDurationOmit();
  const options = { adapter, ...(omit ? { omit } : {}) };
  if (!onQuery) return { db: new PrismaClient(options), sql };
  const db = new PrismaClient({ ...options, log: [{ emit: 'event', level: 'query' }] });
  db.$on('query', (e) => onQuery(e.query));
  return { db, sql };
}

/** Course's Prisma client alone (consumers, seeds, scripts: no hot reads). */
export function createDb(databaseUrl: string, poolSize = 10, onQuery?: (sql: string) => void): PrismaClient {
  return createDatabase(databaseUrl, { poolSize, ...(onQuery ? { onQuery } : {}) }).db;
}

/** Generous limits: a publication writes several tables and the outbox in one transaction. */
export const TX_OPTIONS = { maxWait: 10_000, timeout: 20_000 } as const;
