import {
  commonSettings,
  databasePasswordProblem,
  hotReadsSetting,
  processesSetting,
  jwksSetting,
  parse,
  type ConfigOf,
} from '@coursegraph/service-kit';

/** Enrollment's settings, read once at start-up (see README: Configuration). */
export const enrollmentSettings = {
  ...commonSettings,
  ...jwksSetting,
  ...hotReadsSetting,
  ...processesSetting,
  port: { env: 'ENROLLMENT_PORT', default: 4003, parse: parse.port, doc: 'HTTP port of the enrollment subgraph' },
  databaseUrl: {
    env: 'ENROLLMENT_DATABASE_URL',
    default: 'postgres://cg_enrollment:cg_enrollment_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "enrollment's own PostgreSQL role and database",
  },
};

export type EnrollmentConfig = ConfigOf<typeof enrollmentSettings>;
