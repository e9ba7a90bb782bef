import type { Flags, SqlReads, SubgraphContext } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';
import type { Authoring } from './domain/authoring.js';
import type { Outline } from './domain/outline.js';
import type { Publishing } from './domain/publishing.js';

/** What every course resolver receives: the kit's shared fields (viewer, requestId, logger, traceparent) and course's own. */
export interface Context extends SubgraphContext, Record<string, unknown> {
  db: PrismaClient;
  /** The hot reads' plain SQL; null when they go through Prisma (DB_HOT_READS=prisma). */
  sql: SqlReads | null;
  authoring: Authoring;
  outline: Outline;
  publishing: Publishing;
  loaders: Loaders;
  flags: Pick<Flags, 'variant'>;
}
