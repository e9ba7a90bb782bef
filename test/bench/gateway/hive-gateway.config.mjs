// Hive Gateway's settings for the benchmark (`hive-gateway supergraph <file> -c this`): the caller's
// Authorization header goes to every subgraph, as our gateway and the apollo-server one do (the
// subgraphs verify tokens themselves). BENCH_HIVE_INBOUND_DEDUPE=1 turns on Hive's own (opt-in)
// sharing of identical in-flight operations, the counterpart of ours, for the
// `hive-gateway~inbound-dedupe` variant. Response caching is off except in the cached phase
// (BENCH_HIVE_RESPONSE_CACHE=1): answers kept per Authorization header (anonymous ones shared), for
// the same time to live as ours.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  logging: 'warn',
  inboundInflightRequestDeduplication: process.env.BENCH_HIVE_INBOUND_DEDUPE === '1',
  ...(process.env.BENCH_HIVE_RESPONSE_CACHE === '1'
    ? { responseCaching: { session: (request) => request.headers.get('authorization') ?? null, ttl: 30_000 } }
    : {}),
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') ?? undefined }),
  },
});
