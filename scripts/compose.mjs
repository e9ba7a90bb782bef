#!/usr/bin/env node
// Composes every subgraph's SDL (listed in schema/subgraphs.json) into schema/supergraph.graphql
// with @apollo/composition. With --check it writes nothing and fails when composition fails, the
// committed supergraph differs from what composition produces now, or that supergraph breaks an
// operation someone runs: the project's own or a partner's registered one (scripts/lib/supergraph-guard.mjs),
// or holds a breaking change against the last release that no passed deprecation allows
// (scripts/lib/breaking-changes.mjs, docs/versioning.md).
// SUPERGRAPH_PATH names another supergraph to guard instead (a candidate), without the comparison.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';
import { ROOT } from './lib/env.mjs';
import { checkAgainstLatestRelease } from './lib/breaking-changes.mjs';
import { describeBroken, guardSupergraph } from './lib/supergraph-guard.mjs';

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

/** --check: staleness, then the guard; every failure is reported before exiting 1. */
async function check() {
  let failed = false;
  let supergraph;
  if (process.env.SUPERGRAPH_PATH) {
    supergraph = fs.readFileSync(process.env.SUPERGRAPH_PATH, 'utf8');
  } else {
    supergraph = compose();
    const committed = fs.existsSync(SUPERGRAPH) ? fs.readFileSync(SUPERGRAPH, 'utf8') : '';
    if (committed !== supergraph) {
      console.error('schema/supergraph.graphql is stale: run `npm run compose` and commit the result.');
      failed = true;
    } else console.log('compose: schema/supergraph.graphql is up to date');
  }
  const { checked, broken, notes } = await guardSupergraph(supergraph);
  for (const note of notes) console.log(`compose: ${note}`);
  if (broken.length) {
    console.error(
      `compose: the supergraph breaks ${broken.length} persisted operation(s):\n${describeBroken(broken).join('\n')}`,
    );
    failed = true;
  } else
    console.log(
      `compose: the supergraph runs all ${checked.firstParty} first-party and ${checked.partners} partner persisted operations`,
    );
  const releaseCheck = await checkAgainstLatestRelease(supergraph);
  for (const line of releaseCheck.lines) (releaseCheck.ok ? console.log : console.error)(`compose: ${line}`);
  if (!releaseCheck.ok) failed = true;
  if (failed) process.exit(1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    if (process.argv.includes('--check')) await check();
    else {
      const supergraph = compose();
      fs.writeFileSync(SUPERGRAPH, supergraph);
      console.log('compose: wrote schema/supergraph.graphql');
    }
  } catch (err) {
    console.error(`compose: ${err.message}`);
    process.exit(1);
  }
}
