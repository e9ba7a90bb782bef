// Hive Gateway's settings for the benchmark (`hive-gateway supergraph <file> -c this`): the caller's
// Authorization header goes to every subgraph, as our gateway and the apollo-server one do (the
// subgraphs verify tokens themselves). Response caching stays off unless BENCH_RESPONSE_CACHE is set.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  logging: 'warn',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') ?? undefined }),
  },
});
