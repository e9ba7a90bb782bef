import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonSettings, jwksSetting, parse, type ConfigOf } from '@coursegraph/service-kit';

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
  ...jwksSetting,
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
};

export type GatewayConfig = ConfigOf<typeof gatewaySettings>;

/** SUBGRAPH_<NAME>_URL overrides the routing URL written in the supergraph. */
export function subgraphUrl(name: string, fromSupergraph: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[`SUBGRAPH_${name.toUpperCase()}_URL`] || fromSupergraph;
}
