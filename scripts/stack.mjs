#!/usr/bin/env node
// The local stack's command line: PostgreSQL, Redis and NATS JetStream for Coursegraph, reused when
// they answer at the configured URLs, otherwise installed and started with their data, logs and pid
// files under COURSEGRAPH_DATA_DIR (default <repo>/.data). What each step does is in scripts/lib/stack/
// (index.mjs is the API the other scripts and the tests import). Node built-ins only: it runs before
// `npm install` on a fresh machine.
//   node scripts/stack.mjs up | down | status [--test]
// up: prints the URLs (with the generated credentials) as env lines. down: stops every server this
// data dir started, the tests' NATS included. --test: the services the tests use
// (scripts/lib/test-env.mjs: the same PostgreSQL and Redis, a NATS of their own).
import { ensureStack, SERVICES, status, stopServices } from './lib/stack/index.mjs';
import { testEnv } from './lib/test-env.mjs';

const cmd = process.argv.slice(2).find((a) => !a.startsWith('--')) || 'up';
if (process.argv.includes('--test')) Object.assign(process.env, testEnv());
try {
  if (cmd === 'up') {
    const t0 = Date.now();
    const { started, urls } = await ensureStack();
    const what = started.length ? ` (started ${started.join(', ')})` : '';
    console.error(`stack: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s${what}`);
    console.log(`POSTGRES_ADMIN_URL=${urls.postgresAdmin}\nREDIS_URL=${urls.redis}\nNATS_URL=${urls.nats}`);
  } else if (cmd === 'down') {
    await stopServices(SERVICES, { log: console.error });
    // Without --test, the tests' own NATS goes too: `down` stops everything this data dir started.
    const testNats = testEnv().NATS_URL;
    if (process.env.NATS_URL !== testNats) {
      process.env.NATS_URL = testNats;
      await stopServices(['nats'], { log: console.error });
    }
  } else if (cmd === 'status') {
    console.log(JSON.stringify(await status()));
  } else {
    console.error('usage: node scripts/stack.mjs up|down|status [--test]');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
}
