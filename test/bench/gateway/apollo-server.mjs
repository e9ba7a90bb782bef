#!/usr/bin/env node
// The reference gateway: @apollo/gateway on @apollo/server's standalone HTTP server, as its docs set
// it up, with the caller's Authorization header forwarded to every subgraph. Settings (environment):
//   BENCH_SUPERGRAPH   supergraph SDL file (subgraph URLs already pointing at the benchmark's ports)
//   PORT               where to listen
//   BENCH_WORKERS      processes (node:cluster workers sharing the port; 1 = no cluster)
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const workers = Number(process.env.BENCH_WORKERS || 1);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  class ForwardAuthorization extends RemoteGraphQLDataSource {
    willSendRequest({ request, context }) {
      if (context.authorization) request.http?.headers.set('authorization', context.authorization);
    }
  }
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(process.env.BENCH_SUPERGRAPH, 'utf8'),
    buildService: ({ url }) => new ForwardAuthorization({ url }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  console.log(JSON.stringify({ msg: 'apollo-server gateway ready', url, pid: process.pid }));
  process.on('SIGTERM', async () => {
    await server.stop();
    process.exit(0);
  });
}
