// The local stack: PostgreSQL, Redis and NATS JetStream reachable for Coursegraph. Whatever already
// answers at the configured URLs (scripts/lib/env.mjs) is reused; otherwise the server is apt-installed
// (only if its binary is missing) and started as a plain process whose data, logs and pid files live
// under the data dir. Redis and NATS require the generated credentials (scripts/lib/credentials.mjs).
// Uses only Node built-ins because it runs before `npm install` on a fresh machine.
//
// One job per module: config (where each server is, its files), probes (who answers, with which
// credentials), install (Debian packages), postgres/redis/nats (starting each), running (pid files),
// credential-policy (restart ours, refuse the operator's), lock, bring-up (start the missing ones),
// stop. This file is the API the scripts and the tests use; scripts/stack.mjs is the CLI.
import fs from 'node:fs';
import path from 'node:path';
import { SERVICES, stackConfig, where } from './config.mjs';
import { bringUp } from './bring-up.mjs';
import { restartsFor } from './credential-policy.mjs';
import { lock } from './lock.mjs';
import { reloadNatsConfig } from './nats.mjs';
import { probeAll, survey } from './probes.mjs';
import { stopServices } from './stop.mjs';

export { SERVICES } from './config.mjs';
export { ensureBrowser, ensureFfmpeg } from './install.mjs';
export { stopServices } from './stop.mjs';

/**
 * Makes every server reachable, starting (or restarting with the credentials) those of ours that need
 * it; resolves with `{ started, urls }`: the servers this call started, so the caller can stop them.
 */
export async function ensureStack({ log = console.error } = {}) {
  const c = stackConfig();
  const first = await survey(c);
  if (first.missing.length || first.unauthenticated.length) {
    fs.mkdirSync(c.logs, { recursive: true });
    fs.chmodSync(c.dataDir, 0o755); // the postgres OS user must be able to traverse it
    const release = await lock(path.join(c.dataDir, 'stack.lock'), log);
    try {
      const { missing, unauthenticated } = await survey(c); // another process may have started them while we waited
      const restart = restartsFor(c, unauthenticated, log);
      if (restart.length) await stopServices(restart, { log });
      const up = await bringUp(c, [...missing, ...restart], log);
      reloadNatsConfig(c, log); // a NATS left running may have an older configuration
      return up;
    } finally {
      release();
    }
  }
  for (const n of SERVICES) log(`stack: ${n} reachable at ${where(c[n])}, reusing it`);
  reloadNatsConfig(c, log);
  return { started: [], urls: c.urls };
}

/** `{ postgres, redis, nats }`: true for each server that answers (Redis and NATS: and accepts the credentials). */
export const status = () => probeAll(stackConfig());
