import type { SqlReads, SubgraphContext } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';
import type { Enrollments } from './domain/enrollments.js';

/** What every enrollment resolver receives: the kit's shared fields (viewer, requestId, logger, traceparent) and enrollment's own. */
export interface Context extends SubgraphContext, Record<string, unknown> {
  db: PrismaClient;
  /** The hot reads' plain SQL; null when they go through Prisma (DB_HOT_READS=prisma). */
  sql: SqlReads | null;
  enrollments: Enrollments;
  loaders: Loaders;
}

/** An entity owned by another subgraph, referred to by id only (User, Course). */
export interface EntityRef {
  id: string;
}
