/**
 * Builds the identity subgraph (database, Redis, signing keys, yoga) without listening, so tests
 * can serve it in-process; main.ts serves it.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  apiSchemaOf,
  costLimitFor,
  costTableFromSdl,
  createSubgraph,
  startTracing,
  dependencyProbes,
  verifiedClientIp,
  type Logger,
} from '@coursegraph/service-kit';
import type { IdentityConfig } from './config.js';
import type { Context } from './context.js';
import { createDatabase } from './data/db.js';
import { createUserLoader } from './data/users.js';
import { Accounts } from './domain/accounts.js';
import { EmailVerification } from './domain/email-verification.js';
import { LoginThrottle } from './domain/login-throttle.js';
import { Partners } from './domain/partners.js';
import { PasswordHasher, type Argon2 } from './domain/password-hash.js';
import { SigningKeyStore } from './domain/signing-keys.js';
import { partnerAccessRoute } from './partner-access-route.js';
import { schema, typeDefs } from './schema.js';

export interface IdentityAppOptions {
  /** The argon2 operations; default the real ones (tests wrap them to count calls). */
  argon2?: Argon2;
}

export async function createIdentityApp(config: IdentityConfig, logger: Logger, options: IdentityAppOptions = {}) {
  // Tracing before the first query: Prisma decides when it first connects whether its SQL is traced,
  // and the signing keys' load below is that first query (createSubgraph would start it too late).
  startTracing('identity', logger);
  const { db, sql } = createDatabase(config.databaseUrl, { hotReads: config.hotReads });
  const keys = new SigningKeyStore(db, config.accessTtlSeconds);
  await keys.init();
  // Identity issues the tokens: it verifies them with its own signing keys, not over HTTP.
  const subgraph = createSubgraph({ config, logger, getKey: keys.getKey });
  const { redis } = subgraph;
  const tokens = {
    issuer: config.authIssuer,
    audience: config.authAudience,
    accessTtlSeconds: config.accessTtlSeconds,
    refreshTtlSeconds: config.refreshTtlSeconds,
  };
  const throttle = new LoginThrottle(redis, {
    maxFailures: config.loginMaxFailures,
    maxFailuresPerIp: config.loginMaxFailuresPerIp,
    windowSeconds: config.loginWindowSeconds,
    logger,
  });
  const passwords = new PasswordHasher({
    concurrency: config.passwordHashConcurrency,
    maxQueued: config.passwordHashQueue,
    ...(options.argon2 ? { argon2: options.argon2 } : {}),
  });
  const accounts = new Accounts({
    db,
    redis,
    keys,
    throttle,
    passwords,
    tokens,
    logger,
    verificationTtlMinutes: config.emailVerificationTtlMinutes,
  });
  const emailVerification = new EmailVerification({
    db,
    redis,
    logger,
    options: {
      ttlMinutes: config.emailVerificationTtlMinutes,
      resendLimit: config.emailVerificationResendLimit,
      resendWindowSeconds: config.emailVerificationResendWindowSeconds,
    },
  });
  // Partners' manifests are judged against the supergraph read here, at start, as the gateway judges
  // operations: partners run as anonymous callers, so their documents get that cost limit.
  const supergraphSdl = readFileSync(config.supergraphPath, 'utf8');
  const partners = new Partners({
    db,
    apiSchema: apiSchemaOf(supergraphSdl),
    costTable: costTableFromSdl(supergraphSdl),
    documentLimits: { maxCost: costLimitFor(config, 'anonymous'), limits: config },
    defaults: {
      rateLimitPerMinute: config.partnerDefaultRateLimitPerMinute,
      costBudgetPerMinute: config.partnerDefaultCostBudgetPerMinute,
    },
  });
  const partnerAccess = partnerAccessRoute(partners, config.internalSigningSecret, logger);

  const yoga = subgraph.yoga<Context>({
    schema,
    sdl: typeDefs,
    context: (_base, request) => ({
      db,
      accounts,
      emailVerification,
      keys,
      partners,
      clientIp: verifiedClientIp(request.headers, config.internalSigningSecret),
      loaders: { user: createUserLoader(db, sql) },
      signedInUserId: null,
    }),
  });

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' });
      res.end(JSON.stringify(keys.jwks()));
      return;
    }
    if (partnerAccess(req, res)) return;
    return yoga(req, res);
  };

  return {
    handler,
    yoga,
    db,
    redis,
    keys,
    accounts,
    emailVerification,
    partners,
    ...dependencyProbes(db, redis),
  };
}

export type IdentityApp = Awaited<ReturnType<typeof createIdentityApp>>;
