// Hive Gateway's settings for the benchmark (`hive-gateway supergraph <file> -c this`): the caller's
// Authorization header goes to every subgraph, as our gateway and the apollo-server one do (the
// subgraphs verify tokens themselves). Response caching stays off. BENCH_HIVE_INBOUND_DEDUPE=1 turns
// on Hive's own (opt-in) sharing of identical in-flight operations, the counterpart of ours, for the
// `hive-gateway~inbound-dedupe` variant.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  logging: 'warn',
  inboundInflightRequestDeduplication: process.env.BENCH_HIVE_INBOUND_DEDUPE === '1',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') ?? undefined }),
  },
});
