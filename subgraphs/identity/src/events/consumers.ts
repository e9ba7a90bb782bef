/**
 * Identity's durable consumers. Also read by `scripts/replay.mjs identity <consumer>`; the usage
 * counts are sums, not a projection that a reset and a replay could rebuild, so they have no reset.
 */
import { prismaTransaction, type Transaction } from '@coursegraph/service-kit';
import { createDb, type Tx } from '../data/db.js';
import { operationUsageHandlers } from './operation-usage.js';

export const consumers = {
  'identity-operation-usage': { stream: 'GATEWAY', handlers: operationUsageHandlers, reset: null },
};

export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return prismaTransaction<Tx>(createDb(databaseUrl, 2));
}
