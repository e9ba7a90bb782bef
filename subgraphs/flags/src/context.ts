import type { SubgraphContext } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Flags } from './domain/flags.js';

/** What every flags resolver receives: the kit's shared fields (viewer, requestId, logger, traceparent) and flags' own. */
export interface Context extends SubgraphContext, Record<string, unknown> {
  db: PrismaClient;
  flags: Flags;
}

/** An entity owned by another subgraph, referred to by id only (User). */
export interface EntityRef {
  id: string;
}
