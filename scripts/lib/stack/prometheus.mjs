// A Prometheus server of our own for the local platform (`START_PROMETHEUS=1 npm start`): Debian's
// package, the committed configuration (deploy/prometheus/prometheus.yml: every service's /metrics,
// the SLO and alerting rules), its data under <COURSEGRAPH_DATA_DIR>/prometheus, on PROMETHEUS_PORT.
// Found again through its pid file, like the other servers of the stack; a Prometheus the operator
// runs elsewhere is never touched. Node built-ins only.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, dataDir, env } from '../env.mjs';
import { show } from './config.mjs';
import { ensurePrometheus } from './install.mjs';
import { isAlive, livePid, spawnDetached, waitUntil } from './processes.mjs';

export const PROMETHEUS_CONFIG = path.join(ROOT, 'deploy/prometheus/prometheus.yml');

/** Where our Prometheus listens and keeps its files (read on every call, like stackConfig()). */
export function prometheusConfig() {
  const port = Number(env('PROMETHEUS_PORT', '9090'));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(
      `PROMETHEUS_PORT must be a port number (1-65535), not ${JSON.stringify(process.env.PROMETHEUS_PORT)}`,
    );
  const dir = path.join(dataDir(), 'prometheus');
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    pidFile: path.join(dir, 'prometheus.pid'),
    log: path.join(dataDir(), 'logs', 'prometheus.log'),
  };
}

const ready = async (url) => {
  try {
    return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
};

/**
 * Starts Prometheus (installing Debian's package when missing) unless ours already runs; resolves
 * with `{ url, started }`. A port answered by another Prometheus is an error naming PROMETHEUS_PORT.
 */
export async function startPrometheus({ log = console.error } = {}) {
  const p = prometheusConfig();
  if (livePid(p.pidFile, 'prometheus')) {
    log(`stack: prometheus already running at ${p.url}, reusing it`);
    return { url: p.url, started: false };
  }
  if (await ready(p.url))
    throw new Error(`stack: port ${p.port} is taken by a Prometheus this clone did not start; set PROMETHEUS_PORT`);
  await ensurePrometheus({ log });
  fs.mkdirSync(p.dir, { recursive: true });
  fs.mkdirSync(path.dirname(p.log), { recursive: true });
  // Prometheus writes no pid file and logs to stderr: a shell (exec, so the pid is Prometheus's)
  // sends its output to the log file.
  const args = [
    `--config.file=${PROMETHEUS_CONFIG}`,
    `--storage.tsdb.path=${path.join(p.dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${p.port}`,
    '--web.enable-lifecycle', // POST /-/reload picks up edited rules without a restart
  ];
  const quoted = ['prometheus', ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawnDetached('sh', ['-c', `echo $$ > '${p.pidFile}'; exec ${quoted} >> '${p.log}' 2>&1`], p.dir);
  await waitUntil(`prometheus answering at ${p.url}`, () => ready(p.url), { logFile: p.log, dead: child.exited });
  log(`stack: prometheus at ${p.url} (rules: deploy/prometheus/rules/, data: ${show(p.dir)})`);
  return { url: p.url, started: true };
}

/** Stops our Prometheus if it runs (found through its pid file); resolves with whether it did. */
export async function stopPrometheus({ log = console.error } = {}) {
  const p = prometheusConfig();
  const pid = livePid(p.pidFile, 'prometheus');
  if (!pid) return false;
  log(`stack: stopping prometheus (pid ${pid})`);
  process.kill(pid, 'SIGTERM');
  await waitUntil(`prometheus (pid ${pid}) exiting`, () => !isAlive(pid), { timeoutMs: 30_000, logFile: p.log });
  fs.rmSync(p.pidFile, { force: true });
  return true;
}
