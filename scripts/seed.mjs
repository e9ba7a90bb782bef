#!/usr/bin/env node
// Loads demo data into every context that has a seed (subgraphs/<name>/dist/seed.js), in the order
// of schema/subgraphs.json. Idempotent. Run after `npm run build` and migrations (npm start does).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, contextDatabaseUrl } from './lib/env.mjs';
import { subgraphList } from './lib/platform.mjs';

export function seed() {
  for (const { name } of subgraphList()) {
    const script = path.join(ROOT, 'subgraphs', name, 'dist/seed.js');
    if (!fs.existsSync(script)) continue;
    execFileSync(process.execPath, [script], {
      stdio: 'inherit',
      env: { ...process.env, [`${name.toUpperCase()}_DATABASE_URL`]: contextDatabaseUrl(name) },
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) seed();
