import { commonSettings, MAX_ACCESS_TOKEN_TTL_SECONDS, parse, type ConfigOf } from '@coursegraph/service-kit';

/** Identity's settings, read once at start-up (see README: Configuration). */
export const identitySettings = {
  ...commonSettings,
  port: { env: 'IDENTITY_PORT', default: 4001, parse: parse.port, doc: 'HTTP port of the identity subgraph' },
  databaseUrl: {
    env: 'IDENTITY_DATABASE_URL',
    default: 'postgres://cg_identity:cg_identity_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    doc: "identity's own PostgreSQL role and database",
  },
  accessTtlSeconds: {
    env: 'ACCESS_TOKEN_TTL_SECONDS',
    default: 900,
    parse: (raw: string) => {
      const seconds = parse.positiveInt(raw);
      if (seconds > MAX_ACCESS_TOKEN_TTL_SECONDS) throw new Error(`at most ${MAX_ACCESS_TOKEN_TTL_SECONDS} (verifiers refuse older tokens)`);
      return seconds;
    },
    doc: 'access-token lifetime',
  },
  refreshTtlSeconds: { env: 'REFRESH_TOKEN_TTL_SECONDS', default: 30 * 24 * 3600, parse: parse.positiveInt, doc: 'refresh-token lifetime' },
  loginMaxFailures: { env: 'LOGIN_MAX_FAILURES', default: 5, parse: parse.positiveInt, doc: 'failed logIns per email before a lock' },
  loginWindowSeconds: { env: 'LOGIN_FAILURE_WINDOW_SECONDS', default: 900, parse: parse.positiveInt, doc: 'how long failed logIns are counted' },
};

export type IdentityConfig = ConfigOf<typeof identitySettings>;
