import type { AuthContext, Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Loaders } from './data/loaders.js';
import type { Authoring } from './domain/authoring.js';
import type { Outline } from './domain/outline.js';
import type { Publishing } from './domain/publishing.js';

/** What every course resolver receives. */
export interface Context extends AuthContext, Record<string, unknown> {
  requestId: string;
  logger: Logger;
  db: PrismaClient;
  authoring: Authoring;
  outline: Outline;
  publishing: Publishing;
  loaders: Loaders;
  /** The caller's W3C traceparent, carried into the events this request causes. */
  traceparent: string | undefined;
}
