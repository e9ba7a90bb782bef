// Starting a NATS JetStream server of our own, with one user per service (scripts/lib/nats-config.mjs),
// and keeping a running one's users and permissions current.
import fs from 'node:fs';
import { natsServerConfig, writeNatsConfig } from '../nats-config.mjs';
import { bindAddr, show, where } from './config.mjs';
import { probes } from './probes.mjs';
import { spawnDetached, waitUntil } from './processes.mjs';
import { refuseIfRunning, runningPid } from './running.mjs';

/** nats-config.mjs's options for the server `n` (its entry in stackConfig()). */
const configOptions = (n) => ({
  host: bindAddr(n.host),
  port: n.port,
  storeDir: n.dir,
  pidFile: n.pidFile,
  logFile: n.log,
});

/** Starts nats-server from `c.nats.dir` and waits until it has JetStream and accepts the operator user. */
export async function startNats(c) {
  const n = c.nats;
  refuseIfRunning('nats', n);
  fs.mkdirSync(n.dir, { recursive: true });
  // JetStream, and one user per service with its permissions (scripts/lib/nats-config.mjs).
  writeNatsConfig(n.conf, configOptions(n));
  const child = spawnDetached('nats-server', ['-c', n.conf], c.dataDir);
  await waitUntil(
    `nats answering with JetStream and accepting ${n.user} at ${where(n)}`,
    async () => {
      const info = await probes.nats(n);
      return info?.jetstream === true && info.auth === 'ok';
    },
    { logFile: n.log, dead: child.exited },
  );
}

/**
 * A NATS of ours started with other users or permissions than nats-config.mjs gives now (a newer
 * checkout) gets the new configuration written and reloaded (SIGHUP: nats-server applies
 * authorization changes in place).
 */
export function reloadNatsConfig(c, log) {
  const n = c.nats;
  const pid = runningPid('nats', n);
  if (!pid) return;
  const wanted = `${natsServerConfig(configOptions(n))}\n`;
  let current = null;
  try {
    current = fs.readFileSync(n.conf, 'utf8');
  } catch {
    /* started before config files: the probe restarted it */
  }
  if (current === null || current === wanted) return;
  log(`stack: nats at ${where(n)}: users or permissions changed; reloading ${show(n.conf)}`);
  writeNatsConfig(n.conf, configOptions(n));
  process.kill(pid, 'SIGHUP');
}
