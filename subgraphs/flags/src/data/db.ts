import { PrismaPg } from '@prisma/adapter-pg';
import { pgDriverAdapter } from '@coursegraph/service-kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;

/** Flags' Prisma client, connected as flags' own role through the pg driver adapter. */
export function createDb(databaseUrl: string, poolSize = 5): PrismaClient {
  return new PrismaClient({
    adapter: pgDriverAdapter(PrismaPg, { connectionString: databaseUrl, max: poolSize, schema: 'flags' }).adapter,
  });
}
