// GraphQL Code Generator: typed resolvers (federation mode) for every TypeScript subgraph.
// The build runs it before `tsc`, so generated types are never stale and a resolver that does
// not match its SDL fails the build.
import type { CodegenConfig } from '@graphql-codegen/cli';

/** Subgraph name -> its mappers (GraphQL type -> the TypeScript type its resolvers receive). */
const subgraphs: Record<string, Record<string, string>> = {
  identity: { User: '../generated/prisma/client.js#User', SigningKey: '../generated/prisma/client.js#SigningKey' },
};

const config: CodegenConfig = {
  overwrite: true,
  generates: Object.fromEntries(
    Object.entries(subgraphs).map(([name, mappers]) => [
      `subgraphs/${name}/src/generated/resolvers-types.ts`,
      {
        schema: `subgraphs/${name}/src/${name}.graphql`,
        plugins: ['typescript', 'typescript-resolvers'],
        config: {
          federation: true,
          useTypeImports: true,
          enumsAsTypes: true,
          contextType: '../context.js#Context',
          mappers,
          mapperTypeSuffix: 'Model',
          scalars: { DateTime: { input: 'string', output: 'Date | string' }, ID: 'string' },
        },
      },
    ]),
  ),
};

export default config;
