import { commonSettings, databasePasswordProblem, jwksSetting, parse, type ConfigOf } from '@coursegraph/service-kit';

/** Flags' settings, read once at start-up (see README: Configuration). */
export const flagsServiceSettings = {
  ...commonSettings,
  ...jwksSetting,
  port: { env: 'FLAGS_PORT', default: 4008, parse: parse.port, doc: 'HTTP port of the flags subgraph' },
  databaseUrl: {
    env: 'FLAGS_DATABASE_URL',
    default: 'postgres://cg_flags:cg_flags_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "flags' own PostgreSQL role and database",
  },
};

export type FlagsConfig = ConfigOf<typeof flagsServiceSettings>;
