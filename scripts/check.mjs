#!/usr/bin/env node
// `npm run check`: the code-health checks alone (Prettier, ESLint, cargo fmt, clippy), as `npm test`
// runs them before the tests. Exits non-zero naming every check that failed.
import { runChecks } from './lib/code-health.mjs';

const results = await runChecks();
const failed = results.filter((r) => !r.ok);
if (failed.length > 0) {
  console.error(`\ncheck: failed: ${failed.map((r) => r.name).join(', ')}`);
  process.exit(1);
}
console.log(`\ncheck: all ${results.length} checks passed`);
