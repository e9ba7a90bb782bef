import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  commonSettings,
  databasePasswordProblem,
  hotReadsSetting,
  processesSetting,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  parse,
  type ConfigOf,
} from '@coursegraph/service-kit';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Identity's settings, read once at start-up (see README: Configuration). */
export const identitySettings = {
  ...commonSettings,
  ...hotReadsSetting,
  ...processesSetting,
  port: { env: 'IDENTITY_PORT', default: 4001, parse: parse.port, doc: 'HTTP port of the identity subgraph' },
  databaseUrl: {
    env: 'IDENTITY_DATABASE_URL',
    default: 'postgres://cg_identity:cg_identity_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "identity's own PostgreSQL role and database",
  },
  accessTtlSeconds: {
    env: 'ACCESS_TOKEN_TTL_SECONDS',
    default: 900,
    parse: (raw: string) => {
      const seconds = parse.positiveInt(raw);
      if (seconds > MAX_ACCESS_TOKEN_TTL_SECONDS)
        throw new Error(`at most ${MAX_ACCESS_TOKEN_TTL_SECONDS} (verifiers refuse older tokens)`);
      return seconds;
    },
    doc: 'access-token lifetime',
  },
  refreshTtlSeconds: {
    env: 'REFRESH_TOKEN_TTL_SECONDS',
    default: 30 * 24 * 3600,
    parse: parse.positiveInt,
    doc: 'refresh-token lifetime',
  },
  loginMaxFailures: {
    env: 'LOGIN_MAX_FAILURES',
    default: 5,
    parse: parse.positiveInt,
    doc: 'failed logIns per email before a lock',
  },
  loginWindowSeconds: {
    env: 'LOGIN_FAILURE_WINDOW_SECONDS',
    default: 900,
    parse: parse.positiveInt,
    doc: 'how long failed logIns are counted',
  },
  loginMaxFailuresPerIp: {
    env: 'LOGIN_MAX_FAILURES_PER_IP',
    // Many people can share an address (NAT), and attempts in flight count until they are settled.
    default: 100,
    parse: parse.positiveInt,
    doc: 'failed logIns per client IP (as signed by the gateway), over every email, before the address is locked for the window',
  },
  passwordHashConcurrency: {
    env: 'PASSWORD_HASH_CONCURRENCY',
    // One per core of the machine the platform is measured on; argon2id is CPU- and memory-bound.
    default: 2,
    parse: parse.positiveInt,
    doc: 'argon2id hashes (sign-up, logIn) running at once per identity process',
  },
  passwordHashQueue: {
    env: 'PASSWORD_HASH_QUEUE',
    default: 64,
    parse: parse.positiveInt,
    doc: 'hashes waiting for a turn; past it a logIn or signUp is refused at once with RATE_LIMITED (PASSWORD_HASH_BUSY)',
  },
  emailVerificationTtlMinutes: {
    env: 'EMAIL_VERIFICATION_TTL_MINUTES',
    // A day: long enough to find the mail, short enough that a token lying in a mailbox soon expires.
    default: 1440,
    parse: parse.positiveInt,
    doc: 'how long an email verification token works',
  },
  emailVerificationResendLimit: {
    env: 'EMAIL_VERIFICATION_RESEND_LIMIT',
    // An unverified address may belong to someone else (typed at sign-up): few mails reach it.
    default: 5,
    parse: parse.positiveInt,
    doc: 'resendVerificationEmail calls per user per window; past it RATE_LIMITED (VERIFICATION_RESEND_LIMIT)',
  },
  emailVerificationResendWindowSeconds: {
    env: 'EMAIL_VERIFICATION_RESEND_WINDOW_SECONDS',
    default: 3600,
    parse: parse.positiveInt,
    doc: 'the window of that limit, from the first resend',
  },
  supergraphPath: {
    env: 'SUPERGRAPH_PATH',
    default: path.join(repoRoot, 'schema/supergraph.graphql'),
    parse: parse.string,
    doc: "composed supergraph SDL, read at start: partners' manifests are validated and costed against it",
  },
  partnerDefaultRateLimitPerMinute: {
    env: 'PARTNER_DEFAULT_RATE_LIMIT_PER_MINUTE',
    default: 600,
    parse: parse.positiveInt,
    doc: 'requests per minute of a partner created without its own limit',
  },
  partnerDefaultCostBudgetPerMinute: {
    env: 'PARTNER_DEFAULT_COST_BUDGET_PER_MINUTE',
    default: 60000,
    parse: parse.positiveInt,
    doc: 'sum of operation costs per minute of a partner created without its own budget',
  },
};

export type IdentityConfig = ConfigOf<typeof identitySettings>;
