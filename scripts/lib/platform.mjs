// Runs the platform's processes: every subgraph listed in schema/subgraphs.json, then the gateway
// in front of them. Used by `npm start` and by the end-to-end tests, so both run the same thing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { withRedisPassword } from './credentials.mjs';
import { ROOT, contextDatabaseUrl, databaseName, natsUrl, redisUrl, serviceNatsUrl } from './env.mjs';
import { createSupervisor, restartPolicyFromEnv } from './supervisor.mjs';

export function subgraphList() {
  const { subgraphs } = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8'));
  return Object.entries(subgraphs).map(([name, s]) => ({ name, ...s }));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
const portAnswers = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** Still running? (A process ended by a signal has a null exitCode but a signalCode.) */
const running = (child) => child.exitCode === null && child.signalCode === null;

async function waitReady(name, baseUrl, child, logFile, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running(child)) break;
    const res = await fetch(`${baseUrl}/readyz`).catch(() => null);
    if (res?.ok) return;
    await sleep(200);
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new Error(`${name} did not become ready at ${baseUrl} (exit code ${child.exitCode}); last log lines:\n${tail}`);
}

/**
 * On Linux, the command run so that it gets SIGTERM when the process that started it ends, however
 * that ends: a test run ended at its hook timeout used to leave its platform behind, whose relays and
 * consumers then joined the next run of the suite (same database name) and took its events.
 * setpriv execs the command, so the child's pid is the service's.
 */
const SETPRIV = '/usr/bin/setpriv';
const endingWithParent = (command, args) =>
  fs.existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'TERM', '--', command, ...args]] : [command, args];

/** Ends `child` with `signal` and resolves once it has exited (at once when it already had). */
const end = (child, signal) => {
  if (!running(child)) return Promise.resolve();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  return exited;
};

/**
 * Starts every subgraph and the gateway, each logging JSON to <logDir>/<name>.log, and waits until
 * each answers /readyz. `ports` maps a name (or 'gateway') to a port; defaults come from
 * schema/subgraphs.json and 4000 for the gateway. `database` picks another platform database than
 * POSTGRES_DB (already bootstrapped and migrated).
 *
 * Once started, a process that exits unexpectedly is restarted with backoff (scripts/lib/supervisor.mjs,
 * one JSON line per restart in <logDir>/supervisor.log); `supervise: false` turns that off. Returns
 * the gateway URL, `stop()`, `restart(name)` / `kill(name)` for tests of crashes (a process killed
 * through `kill` stays down until `restart`), `restarts()` (the supervisor's restarts per service),
 * `pid(name)` and `supervisorLog` (the log file's path).
 *
 * Each process connects to NATS as its own user (scripts/lib/credentials.mjs, nats-config.mjs: the
 * subjects it may publish and the streams it may read): NATS_URL (`env.NATS_URL`, else the
 * environment's) with that user's credentials, unless the URL carries an operator's own.
 */
export async function startPlatform({
  env = {},
  ports = {},
  database,
  logDir,
  log = console.error,
  supervise = true,
} = {}) {
  fs.mkdirSync(logDir, { recursive: true });
  /** One entry per process, in start order; `child` is always the current process of that name. */
  const children = [];
  const common = { ...process.env, REDIS_URL: redisUrl(), NATS_URL: natsUrl(), ...env };
  // Redis needs its password (an `env.REDIS_URL` without one gets the generated one); NATS_URL is
  // each process's own (launch), as the NATS user named after it.
  common.REDIS_URL = withRedisPassword(common.REDIS_URL);
  let stopping = false;

  const launched = new Map();
  /** `main` is a Node module, or `{ binary }` an executable (the Rust subgraphs). Resolves with the ready child. */
  const launch = async (name, main, port, extraEnv) => {
    // A stray process on the port would answer the readiness probe in our process's place.
    if (await portAnswers(port))
      throw new Error(`${name}: port ${port} is already in use by another process; stop it or choose another port`);
    if (stopping) throw new Error(`${name}: the platform is stopping`);
    const logFile = path.join(logDir, `${name}.log`);
    const out = fs.openSync(logFile, 'a');
    const [command, args] =
      typeof main === 'string' ? [process.execPath, [path.join(ROOT, main)]] : [path.join(ROOT, main.binary), []];
    const child = spawn(...endingWithParent(command, args), {
      env: { ...common, ...extraEnv, NATS_URL: serviceNatsUrl(name, extraEnv?.NATS_URL ?? common.NATS_URL) },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const listed = children.find((c) => c.name === name);
    if (listed) listed.child = child;
    else children.push({ name, child });
    if (launched.has(name)) launched.get(name).child = child;
    else launched.set(name, { main, port, extraEnv, child, supervised: false });
    const baseUrl = `http://127.0.0.1:${port}`;
    try {
      await waitReady(name, baseUrl, child, logFile);
    } catch (err) {
      // Never leave a process that did not become ready behind (it may hold the port).
      await end(child, 'SIGKILL');
      throw err;
    }
    log(`platform: ${name} ready at ${baseUrl}`);
    // Supervised from its first readiness on (a process that never gets ready on the first start is a set-up error).
    if (supervise && !launched.get(name).supervised) {
      launched.get(name).supervised = true;
      supervisor.watch(name, child);
    }
    return child;
  };
  const relaunch = (name) => {
    const entry = launched.get(name);
    return launch(name, entry.main, entry.port, entry.extraEnv);
  };

  const supervisorLog = path.join(logDir, 'supervisor.log');
  const supervisor = createSupervisor({
    start: relaunch,
    policy: restartPolicyFromEnv(common),
    logFile: supervisorLog,
    log,
  });

  /**
   * Kills one process with `signal` (SIGKILL: a crash) and starts it again at once; not counted in
   * `restarts()`. `env` adds to (or overrides) its environment from now on (a benchmark's settings).
   */
  const restart = async (name, { signal = 'SIGKILL', env: changed } = {}) => {
    const entry = launched.get(name);
    if (!entry) throw new Error(`no process named ${name}`);
    if (changed) entry.extraEnv = { ...entry.extraEnv, ...changed };
    supervisor.hold(name);
    await end(entry.child, signal);
    const child = await relaunch(name);
    if (supervise) supervisor.watch(name, child);
  };

  /** Kills one process; it stays down (the supervisor leaves it) until `restart(name)`. */
  const kill = async (name, signal = 'SIGKILL') => {
    const entry = launched.get(name);
    if (!entry) return;
    supervisor.hold(name);
    await end(entry.child, signal);
  };

  const stop = async () => {
    stopping = true;
    await supervisor.close();
    // Gateway first, so no request reaches a subgraph that is already gone.
    for (const { child } of [...children].reverse()) {
      if (!running(child)) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    }
  };

  /** Restarts made by the supervisor, for every service (0 when none). */
  const restarts = () => ({ ...Object.fromEntries(children.map((c) => [c.name, 0])), ...supervisor.restarts() });
  const pid = (name) => children.find((c) => c.name === name)?.child.pid;

  try {
    const gatewayEnv = {};
    // Identity first: every other service verifies tokens against its JWKS.
    const ordered = subgraphList().sort((a, b) => Number(b.name === 'identity') - Number(a.name === 'identity'));
    const videoPort = ports.video ?? ordered.find((s) => s.name === 'video')?.port;
    for (const subgraph of ordered) {
      const port = ports[subgraph.name] ?? subgraph.port;
      const upper = subgraph.name.toUpperCase();
      const url = `http://127.0.0.1:${port}`;
      await launch(subgraph.name, subgraph.main ?? { binary: subgraph.binary }, port, {
        [`${upper}_PORT`]: String(port),
        [`${upper}_DATABASE_URL`]: contextDatabaseUrl(subgraph.name, database),
        // A search index per platform database, so two platforms never share one (unless one is given).
        SEARCH_INDEX_DIR:
          common.SEARCH_INDEX_DIR ?? path.join(ROOT, '.data', `search-index-${database ?? databaseName()}`),
        SEARCH_HOST: '127.0.0.1',
        // Video's uploads and renditions per platform database too; clients reach its /uploads and
        // /play at its own port (the gateway carries GraphQL only).
        VIDEO_STORAGE_DIR: common.VIDEO_STORAGE_DIR ?? path.join(ROOT, '.data', `video-${database ?? databaseName()}`),
        VIDEO_HOST: '127.0.0.1',
        ...(videoPort ? { VIDEO_PUBLIC_URL: `http://127.0.0.1:${videoPort}` } : {}),
      });
      gatewayEnv[`SUBGRAPH_${upper}_URL`] = `${url}/graphql`;
      if (subgraph.name === 'identity') common.IDENTITY_JWKS_URL = `${url}/.well-known/jwks.json`;
      // Started right after identity (schema/subgraphs.json's order): the services load their flags from it.
      if (subgraph.name === 'flags') common.FLAGS_URL = url;
    }
    const gatewayPort = ports.gateway ?? 4000;
    await launch('gateway', 'gateway/dist/main.js', gatewayPort, { ...gatewayEnv, GATEWAY_PORT: String(gatewayPort) });
    return {
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
      children,
      stop,
      restart,
      kill,
      restarts,
      pid,
      supervisorLog,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
