import type { AuthContext, Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';
import type { Checkout } from './domain/checkout.js';
import type { Refunds } from './domain/refunds.js';
import type { Reconciler } from './domain/reconciler.js';

/** What every payment resolver receives. */
export interface Context extends AuthContext, Record<string, unknown> {
  requestId: string;
  logger: Logger;
  db: PrismaClient;
  checkout: Checkout;
  refunds: Refunds;
  reconciler: Reconciler;
  loaders: Loaders;
  /** W3C trace context of the request, carried into the events it causes. */
  traceparent: string | null;
}
