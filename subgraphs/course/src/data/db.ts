import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;
/** Reads that work both outside and inside a transaction. */
export type Reader = PrismaClient | Tx;

/**
 * Course's Prisma client, connected as course's own role through the pg driver adapter.
 * `onQuery` sees every SQL statement (tests count them to prove there is no N+1).
 */
export function createDb(databaseUrl: string, poolSize = 10, onQuery?: (sql: string) => void): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize }, { schema: 'course' });
  if (!onQuery) return new PrismaClient({ adapter });
  const db = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  db.$on('query', (e) => onQuery(e.query));
  return db;
}

/** Generous limits: a publication writes several tables and the outbox in one transaction. */
export const TX_OPTIONS = { maxWait: 10_000, timeout: 20_000 } as const;
