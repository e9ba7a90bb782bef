import { PrismaPg } from '@prisma/adapter-pg';
import { pgDriverAdapter } from '@coursegraph/service-kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';
import { lessonDurationOmit } from './lesson-duration.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;
/** Reads that work both outside and inside a transaction. */
export type Reader = PrismaClient | Tx;

/**
 * Course's Prisma client, connected as course's own role through the pg driver adapter.
 * `onQuery` sees every SQL statement (tests count them to prove there is no N+1).
 */
export function createDb(databaseUrl: string, poolSize = 10, onQuery?: (sql: string) => void): PrismaClient {
  const adapter = pgDriverAdapter(PrismaPg, { connectionString: databaseUrl, max: poolSize, schema: 'course' });
  // The lesson-duration phase may hide a column from every query (data/lesson-duration.ts); the
  // client's type stays the final schema's. (Prisma refuses `omit: undefined`.)
  const omit: Prisma.GlobalOmitConfig | undefined = lessonDurationOmit();
  const options = { adapter, ...(omit ? { omit } : {}) };
  if (!onQuery) return new PrismaClient(options);
  const db = new PrismaClient({ ...options, log: [{ emit: 'event', level: 'query' }] });
  db.$on('query', (e) => onQuery(e.query));
  return db;
}

/** Generous limits: a publication writes several tables and the outbox in one transaction. */
export const TX_OPTIONS = { maxWait: 10_000, timeout: 20_000 } as const;
