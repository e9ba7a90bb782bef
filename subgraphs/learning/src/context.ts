import type { SubgraphContext } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';

/** What every learning resolver receives: the kit's shared fields (viewer, requestId, logger, traceparent) and learning's own. */
export interface Context extends SubgraphContext, Record<string, unknown> {
  db: PrismaClient;
  loaders: Loaders;
  /** The request's "now": the wall clock, or the x-coursegraph-clock header when CLOCK_HEADER is on. */
  now: Date;
}

/** An entity owned by another subgraph, referred to by id only (User, Course, Lesson). */
export interface EntityRef {
  id: string;
}
