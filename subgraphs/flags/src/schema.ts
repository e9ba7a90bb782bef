import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { resolvers } from './resolvers/index.js';

/** The SDL file is the source of truth; composition and codegen read the same file. */
export const typeDefs = parse(readFileSync(new URL('../src/flags.graphql', import.meta.url), 'utf8'));

export const schema = buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> });
