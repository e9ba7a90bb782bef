#!/usr/bin/env node
// Cuts a schema release: copies the committed supergraph (schema/supergraph.graphql) to
// schema/releases/<date>.graphql, the baseline the breaking-change check compares the next
// supergraphs with (scripts/lib/breaking-changes.mjs). It refuses when the supergraph is stale or
// fails `npm run check:supergraph` (which includes the comparison with the previous release), and
// never overwrites a release of the same day with different content.
//   node scripts/release-schema.mjs [--date YYYY-MM-DD]   (default: today, UTC)
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './lib/env.mjs';
import { RELEASES_DIR } from './lib/breaking-changes.mjs';

const SUPERGRAPH = path.join(ROOT, 'schema/supergraph.graphql');

function releaseDate(argv) {
  const at = argv.indexOf('--date');
  const date = at === -1 ? new Date().toISOString().slice(0, 10) : argv[at + 1];
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date ?? '') || Number.isNaN(Date.parse(date)))
    throw new Error(`--date must be a date written YYYY-MM-DD, not ${JSON.stringify(date ?? '')}`);
  return date;
}

try {
  const date = releaseDate(process.argv.slice(2));
  const check = spawnSync(process.execPath, [path.join(ROOT, 'scripts/compose.mjs'), '--check'], { stdio: 'inherit' });
  if (check.status !== 0) throw new Error('the supergraph does not pass `npm run check:supergraph`; nothing released');
  const supergraph = fs.readFileSync(SUPERGRAPH, 'utf8');
  const target = path.join(RELEASES_DIR, `${date}.graphql`);
  if (fs.existsSync(target)) {
    if (fs.readFileSync(target, 'utf8') === supergraph) {
      console.log(`release-schema: ${path.relative(ROOT, target)} already holds this supergraph`);
      process.exit(0);
    }
    throw new Error(`${path.relative(ROOT, target)} exists with another supergraph; releases are never rewritten`);
  }
  fs.mkdirSync(RELEASES_DIR, { recursive: true });
  fs.writeFileSync(target, supergraph);
  console.log(`release-schema: wrote ${path.relative(ROOT, target)}; commit it`);
} catch (err) {
  console.error(`release-schema: ${err.message}`);
  process.exit(1);
}
