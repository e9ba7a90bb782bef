// Starting a Redis of our own, with the generated password (scripts/lib/redis-config.mjs).
import fs from 'node:fs';
import { writeRedisConfig } from '../redis-config.mjs';
import { bindAddr, where } from './config.mjs';
import { probes } from './probes.mjs';
import { spawnDetached, waitUntil } from './processes.mjs';
import { refuseIfRunning } from './running.mjs';

/** Starts redis-server from `c.redis.dir` and waits until it accepts the generated password. */
export async function startRedis(c) {
  const r = c.redis;
  refuseIfRunning('redis', r);
  fs.mkdirSync(r.dir, { recursive: true });
  // Not --daemonize yes: a daemonized redis that fails to bind exits before writing its pid file, leaving nothing to
  // watch. Spawned detached in the foreground, its exit is seen at once and it still outlives this script.
  // The password is in the config file (mode 0600), never on the command line where `ps` shows it.
  writeRedisConfig(r.conf, { port: r.port, bind: bindAddr(r.host), dir: r.dir, pidFile: r.pidFile, logFile: r.log });
  const child = spawnDetached('redis-server', [r.conf], c.dataDir);
  await waitUntil(`redis accepting its password at ${where(r)}`, async () => (await probes.redis(r)) === 'ok', {
    logFile: r.log,
    dead: child.exited,
  });
}
