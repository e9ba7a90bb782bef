import { PrismaPg } from '@prisma/adapter-pg';
import { pgDriverAdapter } from '@coursegraph/service-kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;

/** AI's Prisma client, connected as ai's own role through the pg driver adapter. */
export function createDb(databaseUrl: string, poolSize = 10): PrismaClient {
  return new PrismaClient({
    adapter: pgDriverAdapter(PrismaPg, { connectionString: databaseUrl, max: poolSize, schema: 'ai' }).adapter,
  });
}
