import {
  commonSettings,
  databasePasswordProblem,
  flagsSettings,
  hotReadsSetting,
  processesSetting,
  jwksSetting,
  parse,
  type ConfigOf,
} from '@coursegraph/service-kit';
import { LESSON_DURATION_PHASES, type LessonDurationPhase } from './data/lesson-duration.js';

/** Course's settings, read once at start-up (see README: Configuration). */
export const courseSettings = {
  ...commonSettings,
  ...jwksSetting,
  // The catalog's default order is the flag `catalog-ranking` (resolvers/query.ts).
  ...flagsSettings,
  ...hotReadsSetting,
  ...processesSetting,
  port: { env: 'COURSE_PORT', default: 4002, parse: parse.port, doc: 'HTTP port of the course subgraph' },
  databaseUrl: {
    env: 'COURSE_DATABASE_URL',
    default: 'postgres://cg_course:cg_course_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "course's own PostgreSQL role and database",
  },
  lessonDurationPhase: {
    env: 'COURSE_LESSON_DURATION_PHASE',
    default: 'contract' as LessonDurationPhase,
    parse: parse.oneOf<LessonDurationPhase>(...LESSON_DURATION_PHASES),
    doc:
      'Which release of the lessons.duration_seconds → estimated_duration_seconds migration the course subgraph ' +
      'plays: old (the old column only), expand (writes both, reads the new one, else the old), contract (the new ' +
      'one only; what the migrations end with). Only `npm run bench:migration` sets it (docs/versioning.md)',
  },
};

export type CourseConfig = ConfigOf<typeof courseSettings>;
