import { commonSettings, databasePasswordProblem, jwksSetting, parse, type ConfigOf } from '@coursegraph/service-kit';

/** Course's settings, read once at start-up (see README: Configuration). */
export const courseSettings = {
  ...commonSettings,
  ...jwksSetting,
  port: { env: 'COURSE_PORT', default: 4002, parse: parse.port, doc: 'HTTP port of the course subgraph' },
  databaseUrl: {
    env: 'COURSE_DATABASE_URL',
    default: 'postgres://cg_course:cg_course_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "course's own PostgreSQL role and database",
  },
};

export type CourseConfig = ConfigOf<typeof courseSettings>;
