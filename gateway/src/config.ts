import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonSettings, jwksSetting, parse, type ConfigOf } from '@coursegraph/service-kit';
import { parseTrustedProxies } from './client-ip.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Gateway settings, read once at start-up (see README: Configuration). */
export const gatewaySettings = {
  ...commonSettings,
  port: { env: 'GATEWAY_PORT', default: 4000, parse: parse.port, doc: 'HTTP port of the one endpoint' },
  supergraphPath: {
    env: 'SUPERGRAPH_PATH',
    default: path.join(repoRoot, 'schema/supergraph.graphql'),
    parse: parse.string,
    doc: 'composed supergraph SDL (npm run compose writes it)',
  },
  supergraphWatch: {
    env: 'GATEWAY_SUPERGRAPH_WATCH',
    default: true,
    parse: parse.boolean,
    doc: 'reload SUPERGRAPH_PATH when it changes, without a restart (a file that does not build is logged and the current one keeps serving); off: only on SIGHUP',
  },
  workers: {
    env: 'GATEWAY_WORKERS',
    // One process did better than one per core on bench:gateway's catalog and mutation workloads
    // (deep level) on a two-core machine shared with the subgraphs; workers pay off where the
    // gateway has cores of its own.
    default: 1,
    parse: parse.positiveInt,
    doc: 'gateway processes sharing the port (node:cluster)',
  },
  deduplicateQueries: {
    env: 'GATEWAY_DEDUPLICATE_QUERIES',
    default: true,
    parse: parse.boolean,
    doc: 'identical subgraph queries in flight at once (same body and caller) share one call; turn off if a subgraph answers depend on more',
  },
  shareInFlightOperations: {
    env: 'GATEWAY_SHARE_IN_FLIGHT_OPERATIONS',
    default: true,
    parse: parse.boolean,
    doc: 'identical query operations in flight at once (same document, variables and access token) are executed once',
  },
  subgraphClient: {
    env: 'GATEWAY_SUBGRAPH_CLIENT',
    default: 'keep-alive' as const,
    parse: parse.oneOf('keep-alive', 'apollo'),
    doc: "keep-alive: the gateway's own node:http pools; apollo: @apollo/gateway's default fetcher (kept for comparison)",
  },
  subgraphTimeoutMs: {
    env: 'GATEWAY_SUBGRAPH_TIMEOUT_MS',
    // A healthy subgraph answers the heaviest legitimate call in well under a second, and a
    // paid checkout waits on its provider a few seconds at most; past 5 s it is not coming.
    default: 5_000,
    parse: parse.positiveInt,
    doc: 'the longest one subgraph call may take; past it the fields of that subgraph are null (SUBGRAPH_UNAVAILABLE)',
  },
  requestTimeoutMs: {
    env: 'GATEWAY_REQUEST_TIMEOUT_MS',
    // Two sequential subgraph timeouts: a plan is a few fetches deep, and a client should hear back.
    default: 10_000,
    parse: parse.positiveInt,
    doc: 'the longest one operation may spend on subgraph calls; then its outstanding calls are abandoned and their fields are null',
  },
  subgraphMaxResponseMb: {
    env: 'GATEWAY_SUBGRAPH_MAX_RESPONSE_MB',
    // The largest legitimate answers (a 100-row admin list) are well under 1 MB.
    default: 8,
    parse: parse.positiveInt,
    doc: "megabytes a subgraph's answer may hold; a larger one is cut off and that subgraph's fields are null",
  },
  breakerFailures: {
    env: 'GATEWAY_BREAKER_FAILURES',
    default: 5,
    parse: parse.positiveInt,
    doc: "failures in a row (timeouts, refused connections, 5xx) that open a subgraph's circuit: its calls then fail at once",
  },
  breakerOpenMs: {
    env: 'GATEWAY_BREAKER_OPEN_MS',
    default: 10_000,
    parse: parse.positiveInt,
    doc: 'how long an open circuit fails fast before it half-opens and lets one probe call through',
  },
  responseCache: {
    env: 'GATEWAY_RESPONSE_CACHE',
    default: false,
    parse: parse.boolean,
    doc: 'keep answers to anonymous queries, dropped when an event says their data changed (see gateway/src/response-cache)',
  },
  responseCacheTtlMs: {
    env: 'GATEWAY_RESPONSE_CACHE_TTL_MS',
    default: 30_000,
    parse: parse.positiveInt,
    doc: 'the longest a cached answer is served, for changes no event announces',
  },
  responseCacheMaxEntries: {
    env: 'GATEWAY_RESPONSE_CACHE_MAX_ENTRIES',
    default: 5_000,
    parse: parse.positiveInt,
    doc: 'cached answers kept per gateway process; the least recently used go first',
  },
  responseCacheMaxMb: {
    env: 'GATEWAY_RESPONSE_CACHE_MAX_MB',
    default: 64,
    parse: parse.positiveInt,
    doc: 'megabytes of JSON the cached answers of one gateway process may hold together',
  },
  entityCache: {
    env: 'GATEWAY_ENTITY_CACHE',
    default: false,
    parse: parse.boolean,
    doc: "keep subgraphs' answers for entity fields declared @publicCache in Redis, shared by every gateway process and caller, dropped when an event says they changed (see gateway/src/entity-cache)",
  },
  entityCacheMaxAgeS: {
    env: 'GATEWAY_ENTITY_CACHE_MAX_AGE_S',
    default: 60,
    parse: parse.positiveInt,
    doc: "the longest an entity is kept, whatever its fields' @publicCache(maxAge:) say, for changes no event announces",
  },
  clockHeader: {
    env: 'CLOCK_HEADER',
    default: false,
    parse: parse.boolean,
    productionCheck: (on: boolean) =>
      on ? 'CLOCK_HEADER lets callers choose the time of reviews and attempts: never in production' : undefined,
    doc: 'forward the x-coursegraph-clock request header to the subgraphs (tests and simulations move time through the gateway); never in production',
  },
  trustedProxies: {
    env: 'GATEWAY_TRUSTED_PROXIES',
    default: parseTrustedProxies(''),
    parse: parseTrustedProxies,
    doc: "comma-separated addresses and CIDR ranges of proxies whose X-Forwarded-For is believed; empty: the socket's peer is the client",
  },
  rateLimits: {
    env: 'RATE_LIMITS',
    default: true,
    parse: parse.boolean,
    doc: 'rate limits in Redis (per IP, per user, and stricter ones on sign-in, enrolment and checkout); fail open while Redis is down',
  },
  // Generous enough for a real frontend (a page is a few requests) behind a shared address (NAT).
  rateLimitIpPerMinute: {
    env: 'RATE_LIMIT_IP_PER_MINUTE',
    default: 1200,
    parse: parse.positiveInt,
    doc: 'requests per minute per client IP (also the largest burst)',
  },
  rateLimitUserPerMinute: {
    env: 'RATE_LIMIT_USER_PER_MINUTE',
    default: 600,
    parse: parse.positiveInt,
    doc: 'requests per minute per signed-in user, from any address',
  },
  rateLimitAuthPerMinute: {
    env: 'RATE_LIMIT_AUTH_PER_MINUTE',
    // A shared address (an office behind NAT) refreshes many sessions; password guessing is capped
    // harder by identity's lock-out (per email and per address).
    default: 60,
    parse: parse.positiveInt,
    doc: 'logIn, signUp and refreshSession per minute per client IP (each aliased occurrence counts; the explorer sign-in too)',
  },
  rateLimitEnrolPerMinute: {
    env: 'RATE_LIMIT_ENROL_PER_MINUTE',
    default: 30,
    parse: parse.positiveInt,
    doc: 'enrol and unenrol per minute per user (per IP when anonymous)',
  },
  rateLimitCheckoutPerMinute: {
    env: 'RATE_LIMIT_CHECKOUT_PER_MINUTE',
    default: 20,
    parse: parse.positiveInt,
    doc: 'checkout and coupon look-ups per minute per user (per IP when anonymous)',
  },
  ...jwksSetting,
  identityUrl: {
    env: 'IDENTITY_URL',
    // Empty: the origin of the identity subgraph's URL (SUBGRAPH_IDENTITY_URL, else the supergraph's
    // http://127.0.0.1:4001/graphql), so a platform that moves identity moves this with it.
    default: '',
    parse: (raw: string) => (raw === '' ? '' : parse.url(raw)),
    doc: "identity's HTTP origin, asked (signed with INTERNAL_SIGNING_SECRET) which partner an API key belongs to; empty: the identity subgraph's origin",
  },
  persistedDocuments: {
    env: 'GATEWAY_PERSISTED_DOCUMENTS',
    default: 'off' as const,
    parse: parse.oneOf('off', 'log', 'enforce'),
    doc: 'documents outside the persisted-documents manifest, from callers other than admins and partners: off (served), log (served and logged as unregistered), enforce (refused: PERSISTED_DOCUMENT_REQUIRED)',
  },
  persistedDocumentsPath: {
    env: 'GATEWAY_PERSISTED_DOCUMENTS_PATH',
    default: path.join(repoRoot, 'schema/operations/persisted-documents.json'),
    parse: parse.string,
    doc: "the project's own persisted documents, { sha256: document } (GraphQL Code Generator's client preset writes them)",
  },
  persistedGetMaxAgeS: {
    env: 'GATEWAY_PERSISTED_GET_MAX_AGE_S',
    default: 60,
    parse: parse.positiveInt,
    doc: 'Cache-Control max-age of an anonymous GET of a persisted document answered without errors (a CDN may keep it)',
  },
  apqTtlS: {
    env: 'GATEWAY_APQ_TTL_S',
    // A client re-registers a document it finds missing with one more request: a day is plenty.
    default: 86_400,
    parse: parse.positiveInt,
    doc: 'seconds a document registered by automatic persisted queries (APQ) is kept in Redis',
  },
  subscriptionBufferEvents: {
    env: 'SUBSCRIPTION_BUFFER_EVENTS',
    default: 1000,
    parse: parse.positiveInt,
    doc: 'events a subscriber may have waiting before it is disconnected as too slow',
  },
  subscriptionSlowCloseGraceMs: {
    env: 'SUBSCRIPTION_SLOW_CLOSE_GRACE_MS',
    default: 5000,
    parse: parse.positiveInt,
    doc: 'after telling a subscriber why its stream ends, how long before its connection is cut',
  },
  subscriptionAuthRecheckMs: {
    env: 'SUBSCRIPTION_AUTH_RECHECK_MS',
    default: 30_000,
    parse: parse.positiveInt,
    doc: "how often an open stream's access token is checked again, so a revoked one ends it",
  },
  subscriptionMaxPerConnection: {
    env: 'SUBSCRIPTION_MAX_PER_CONNECTION',
    // A page needs a few (the staff dashboard: four streams); more on one socket is a client bug or abuse.
    default: 10,
    parse: parse.positiveInt,
    doc: 'streams one graphql-ws connection may carry at once; one more is refused with RATE_LIMITED/TOO_MANY_STREAMS',
  },
  subscriptionMaxPerUser: {
    env: 'SUBSCRIPTION_MAX_PER_USER',
    // A few tabs and devices of one person.
    default: 20,
    parse: parse.positiveInt,
    doc: 'streams one signed-in user may hold over all their connections, per gateway process',
  },
  subscriptionMaxPerIp: {
    env: 'SUBSCRIPTION_MAX_PER_IP',
    // Many people may share one address (a campus or office behind NAT): generous, yet bounded.
    default: 200,
    parse: parse.positiveInt,
    doc: 'streams one client IP may hold over all its connections, per gateway process',
  },
  subscriptionOwnerResumeWindow: {
    env: 'SUBSCRIPTION_OWNER_RESUME_WINDOW',
    default: 1000,
    parse: parse.positiveInt,
    doc: "notificationAdded(after:) reads at most this many of the NOTIFICATION stream's latest events; an older position resumes there (missedBefore says so)",
  },
  usage: {
    env: 'GATEWAY_USAGE',
    default: true,
    parse: parse.boolean,
    doc: 'count requests, errors and latency per client and operation, and report them to identity (operationUsage)',
  },
  usageReportMs: {
    env: 'GATEWAY_USAGE_REPORT_MS',
    default: 10_000,
    parse: parse.positiveInt,
    doc: 'how often each gateway process publishes its usage counts (gateway.usage.reported); counts of a failed report go in the next',
  },
  corsOrigins: {
    env: 'GATEWAY_CORS_ORIGINS',
    default: [] as string[],
    parse: parseOrigins,
    doc: 'comma-separated exact origins (https://app.example.com) whose pages may call the endpoint from a browser; none by default',
  },
};

/** `https://a.example, http://localhost:5173` → exact origins; anything else (a path, `*`) fails start-up. */
export function parseOrigins(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      let origin: string;
      try {
        origin = new URL(entry).origin;
      } catch {
        throw new Error(`"${entry}" is not an origin (scheme://host[:port])`);
      }
      if (origin === 'null' || origin !== entry)
        throw new Error(
          `"${entry}" is not an exact origin: write it as ${origin === 'null' ? 'scheme://host[:port]' : origin} (no path, no trailing slash, no wildcard)`,
        );
      return origin;
    });
}

export type GatewayConfig = ConfigOf<typeof gatewaySettings>;

/** SUBGRAPH_<NAME>_URL overrides the routing URL written in the supergraph. */
export function subgraphUrl(name: string, fromSupergraph: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[`SUBGRAPH_${name.toUpperCase()}_URL`] || fromSupergraph;
}
