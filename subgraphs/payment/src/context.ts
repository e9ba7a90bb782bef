import type { SqlReads, SubgraphContext } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';
import type { Checkout } from './domain/checkout.js';
import type { Refunds } from './domain/refunds.js';
import type { Reconciler } from './domain/reconciler.js';

/** What every payment resolver receives: the kit's shared fields (viewer, requestId, logger, traceparent) and payment's own. */
export interface Context extends SubgraphContext, Record<string, unknown> {
  db: PrismaClient;
  /** The hot reads' plain SQL; null when they go through Prisma (DB_HOT_READS=prisma). */
  sql: SqlReads | null;
  checkout: Checkout;
  refunds: Refunds;
  reconciler: Reconciler;
  loaders: Loaders;
}
