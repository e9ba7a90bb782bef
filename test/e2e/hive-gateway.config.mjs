// Hive Gateway as the scale-out gateway, serving the committed schema/supergraph.graphql unchanged
// (`hive-gateway supergraph schema/supergraph.graphql --config-path this`):
// - where each subgraph is: SUBGRAPH_<NAME>_URL, the same variables our gateway reads, applied with
//   Hive Gateway's own per-subgraph override (`transportEntries.<name>.location`), so the
//   supergraph's `@join__graph(url:)` stay as committed;
// - what it runs: only the project's persisted operations, schema/operations/persisted-documents.json
//   (GraphQL Code Generator's format, written by scripts/persisted-documents.mjs); clients send
//   `extensions.persistedQuery.sha256Hash`, and any other document is refused;
// - the caller's Authorization header goes to every subgraph, which verifies tokens itself.
import fs from 'node:fs';
import { defineConfig } from '@graphql-hive/gateway';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(fs.readFileSync(new URL('schema/operations/persisted-documents.json', root), 'utf8'));

const transportEntries = Object.fromEntries(
  Object.entries(process.env)
    .map(([name, value]) => [/^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(name)?.[1], value])
    .filter(([subgraph, value]) => subgraph && value)
    .map(([subgraph, location]) => [subgraph.toLowerCase(), { location }]),
);

export const gatewayConfig = defineConfig({
  logging: 'warn',
  transportEntries,
  persistedDocuments: {
    getPersistedOperation: (id) => manifest[id] ?? null,
    allowArbitraryDocuments: false,
  },
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') ?? undefined }),
  },
});
