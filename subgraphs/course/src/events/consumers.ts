/**
 * Course's durable consumers: the entitlement projection (stream ENROLLMENT). Also read by
 * `scripts/replay.mjs course <consumer>`.
 */
import type { Transaction } from '@coursegraph/service-kit';
import { createDb, type PrismaClient, type Tx } from '../data/db.js';
import { entitlementHandlers, resetEntitlements } from './entitlements.js';

export const consumers = {
  'course-entitlements': { stream: 'ENROLLMENT', handlers: entitlementHandlers, reset: resetEntitlements },
};

export function transactionOf(db: PrismaClient): Transaction<Tx> {
  return (fn) => db.$transaction(fn);
}

export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return transactionOf(createDb(databaseUrl, 2));
}
