/**
 * Builds the course subgraph (database, Redis, auth, yoga) without listening, so tests can serve it
 * in-process; main.ts serves it and runs the outbox relay.
 */
import { FlagsEvents } from '@coursegraph/contracts';
import {
  createSubgraph,
  dependencyProbes,
  startFlags,
  type Flags,
  type Logger,
  type SubgraphOptions,
} from '@coursegraph/service-kit';
import type { CourseConfig } from './config.js';
import type { Context } from './context.js';
import { createDatabase } from './data/db.js';
import { useLessonDurationPhase } from './data/lesson-duration.js';
import { createLoaders } from './data/loaders.js';
import { Authoring } from './domain/authoring.js';
import { Outline } from './domain/outline.js';
import { Publishing } from './domain/publishing.js';
import { schema, typeDefs } from './schema.js';

export interface CourseAppOptions {
  /** Resolves token verification keys. Default: identity's JWKS at config.jwksUrl (tests pass a local set). */
  getKey?: SubgraphOptions['getKey'];
  /** Database pool size. Default 10. */
  poolSize?: number;
  /** Called with every SQL statement the app runs. Default: none. */
  onQuery?: (sql: string) => void;
  /** The platform's flags. Default: a client of the flags subgraph at config.flagsUrl. */
  flags?: Flags;
}

export async function createCourseApp(config: CourseConfig, logger: Logger, options: CourseAppOptions = {}) {
  useLessonDurationPhase(config.lessonDurationPhase);
  const { db, sql } = createDatabase(config.databaseUrl, {
    hotReads: config.hotReads,
    ...(options.poolSize ? { poolSize: options.poolSize } : {}),
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
  });
  const subgraph = createSubgraph({ config, logger, getKey: options.getKey });
  const authoring = new Authoring(db);
  const outline = new Outline(db);
  const publishing = new Publishing(db);
  const flags =
    options.flags ??
    (await startFlags({
      service: 'course',
      flagsUrl: config.flagsUrl,
      signingSecret: config.internalSigningSecret,
      natsUrl: config.natsUrl,
      logger,
      changeEvent: FlagsEvents.changed,
      exposureEvent: FlagsEvents.exposureReported,
      refreshMs: config.flagsRefreshMs,
      exposureReportMs: config.flagsExposureReportMs,
    }));

  const yoga = subgraph.yoga<Context>({
    schema,
    sdl: typeDefs,
    context: (base) => ({
      db,
      sql,
      authoring,
      outline,
      publishing,
      loaders: createLoaders(db, sql, base.viewer?.userId ?? null),
      flags,
    }),
  });

  const probes = dependencyProbes(db, subgraph.redis);
  return {
    handler: yoga,
    yoga,
    db,
    sql,
    redis: subgraph.redis,
    authoring,
    outline,
    publishing,
    flags,
    ...probes,
    close: async () => {
      if (!options.flags) await flags.close();
      await probes.close();
    },
  };
}

export type CourseApp = Awaited<ReturnType<typeof createCourseApp>>;
