// GraphQL Code Generator: typed resolvers (federation mode) for every TypeScript subgraph listed in
// schema/subgraphs.json. The build runs it before `tsc`, so generated types are never stale and a
// resolver that does not match its SDL fails the build. Each subgraph may map GraphQL types to the
// TypeScript types its resolvers receive in `subgraphs/<name>/mappers.json`
// ({ "User": "../generated/prisma/client.js#User" }, paths relative to src/generated/).
// And the client preset over the project's own operations (schema/operations/): typed documents in
// packages/test-support and the persisted-documents manifest (scripts/lib/operations-codegen.mjs).
import fs from 'node:fs';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { operationsCodegen } from './scripts/lib/operations-codegen.mjs';

const { subgraphs } = JSON.parse(fs.readFileSync('schema/subgraphs.json', 'utf8')) as {
  subgraphs: Record<string, { sdl: string }>;
};

const typescriptSubgraphs = Object.keys(subgraphs).filter((name) => fs.existsSync(`subgraphs/${name}/package.json`));

const mappersOf = (name: string): Record<string, string> =>
  fs.existsSync(`subgraphs/${name}/mappers.json`)
    ? JSON.parse(fs.readFileSync(`subgraphs/${name}/mappers.json`, 'utf8'))
    : {};

const config: CodegenConfig = {
  overwrite: true,
  generates: {
    ...Object.fromEntries(
      typescriptSubgraphs.map((name) => [
        `subgraphs/${name}/src/generated/resolvers-types.ts`,
        {
          schema: subgraphs[name]!.sdl,
          plugins: ['typescript', 'typescript-resolvers'],
          config: {
            federation: true,
            useTypeImports: true,
            enumsAsTypes: true,
            contextType: '../context.js#Context',
            mappers: mappersOf(name),
            mapperTypeSuffix: 'Model',
            scalars: { DateTime: { input: 'string', output: 'Date | string' }, ID: 'string' },
          },
        },
      ]),
    ),
    ...operationsCodegen(),
  },
};

export default config;
