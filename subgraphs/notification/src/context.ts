import type { AuthContext, Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';

/** What every notification resolver receives. */
export interface Context extends AuthContext, Record<string, unknown> {
  requestId: string;
  logger: Logger;
  db: PrismaClient;
  loaders: Loaders;
}

/** An entity owned by another subgraph, referred to by id only (User, Course). */
export interface EntityRef {
  id: string;
}
