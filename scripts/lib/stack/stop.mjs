// Stopping servers, but only instances running from this data dir (found through their pid files):
// another clone's, or the operator's, are never touched.
import fs from 'node:fs';
import { SERVICES, stackConfig } from './config.mjs';
import { stopPostgres } from './postgres.mjs';
import { isAlive, waitUntil } from './processes.mjs';
import { runningPid } from './running.mjs';

/** Stops the named servers (default all) that run from this data dir; resolves with those it stopped. */
export async function stopServices(names = SERVICES, { log = console.error } = {}) {
  const c = stackConfig();
  const stopped = [];
  for (const name of names) {
    const s = c[name];
    const pid = runningPid(name, s);
    if (!pid) {
      log(`stack: ${name} is not running from ${s.dir}`);
      continue;
    }
    log(`stack: stopping ${name} (pid ${pid})`);
    if (name === 'postgres') await stopPostgres(s);
    else process.kill(pid, 'SIGTERM'); // redis (with save "") and nats both shut down cleanly on SIGTERM
    await waitUntil(`${name} (pid ${pid}) exiting`, () => !isAlive(pid), { timeoutMs: 30_000, logFile: s.log });
    if (name !== 'postgres') fs.rmSync(s.pidFile, { force: true }); // pg_ctl removes its own
    stopped.push(name);
  }
  return stopped;
}
