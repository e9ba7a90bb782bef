import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { testEnv } from './scripts/lib/test-env.mjs';

// `npm test` prepares services, database and build first; plain `npx vitest` works after one `npm test`.
const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql 16 through its CommonJS "main" (the package has no "exports"), and so do
    // @apollo/subgraph and @apollo/gateway. Vite would pick the ESM "module" build: a second copy
    // whose GraphQLError is another class. Resolve to the one copy Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'subgraphs/*/test/**/*.test.ts',
      'gateway/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    env: testEnv(),
    globalSetup: ['packages/test-support/src/services.ts'],
    pool: 'forks',
    // Vitest 4 runs one file fewer than the cores at once: one at a time on these 2-core machines.
    // Most files wait (on servers, events, a platform of their own) far more than they compute, so
    // two at a time took the whole run from 13.6 to 8.6 minutes here, every file still isolated
    // (each end-to-end suite has its own database and NATS; the others use unique ids).
    maxWorkers: Math.max(2, availableParallelism()),
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
