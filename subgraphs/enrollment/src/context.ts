import type { AuthContext, Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';
import type { Enrollments } from './domain/enrollments.js';

/** What every enrollment resolver receives. */
export interface Context extends AuthContext, Record<string, unknown> {
  requestId: string;
  logger: Logger;
  db: PrismaClient;
  enrollments: Enrollments;
  loaders: Loaders;
}

/** An entity owned by another subgraph, referred to by id only (User, Course). */
export interface EntityRef {
  id: string;
}
