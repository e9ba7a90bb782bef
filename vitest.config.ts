import { createRequire } from 'node:module';
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
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
