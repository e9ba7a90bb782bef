#!/usr/bin/env node
// Composes every subgraph's SDL (listed in schema/subgraphs.json) into schema/supergraph.graphql
// with @apollo/composition. With --check it writes nothing and fails when composition fails or the
// committed supergraph differs from what composition produces now.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';
import { ROOT } from './lib/env.mjs';

const SUPERGRAPH = path.join(ROOT, 'schema/supergraph.graphql');

export function compose() {
  const { subgraphs } = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8'));
  const services = Object.entries(subgraphs).map(([name, { sdl, url }]) => ({
    name,
    url,
    typeDefs: parse(fs.readFileSync(path.join(ROOT, sdl), 'utf8')),
  }));
  const result = composeServices(services);
  if (result.errors?.length) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  return `${result.supergraphSdl.trimEnd()}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const supergraph = compose();
    if (process.argv.includes('--check')) {
      const committed = fs.existsSync(SUPERGRAPH) ? fs.readFileSync(SUPERGRAPH, 'utf8') : '';
      if (committed !== supergraph) {
        console.error('schema/supergraph.graphql is stale: run `npm run compose` and commit the result.');
        process.exit(1);
      }
      console.log('compose: schema/supergraph.graphql is up to date');
    } else {
      fs.writeFileSync(SUPERGRAPH, supergraph);
      console.log('compose: wrote schema/supergraph.graphql');
    }
  } catch (err) {
    console.error(`compose: ${err.message}`);
    process.exit(1);
  }
}
