// Runs the platform's processes: every subgraph listed in schema/subgraphs.json, then the gateway
// in front of them. Used by `npm start` and by the end-to-end tests, so both run the same thing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, contextDatabaseUrl, databaseName, natsUrl, redisUrl } from './env.mjs';

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
 * Starts every subgraph and the gateway, each logging JSON to <logDir>/<name>.log, and waits until
 * each answers /readyz. `ports` maps a name (or 'gateway') to a port; defaults come from
 * schema/subgraphs.json and 4000 for the gateway. Returns the gateway URL, `stop()`, and
 * `restart(name)` / `kill(name)` for tests of crashes. `database` picks another platform database
 * than POSTGRES_DB (already bootstrapped and migrated).
 */
export async function startPlatform({ env = {}, ports = {}, database, logDir, log = console.error } = {}) {
  fs.mkdirSync(logDir, { recursive: true });
  const children = [];
  const common = { ...process.env, REDIS_URL: redisUrl(), NATS_URL: natsUrl(), ...env };

  const launched = new Map();
  /** `main` is a Node module, or `{ binary }` an executable (the Rust subgraphs). */
  const launch = async (name, main, port, extraEnv) => {
    // A stray process on the port would answer the readiness probe in our process's place.
    if (await portAnswers(port)) throw new Error(`${name}: port ${port} is already in use by another process; stop it or choose another port`);
    const logFile = path.join(logDir, `${name}.log`);
    const out = fs.openSync(logFile, 'a');
    const [command, args] = typeof main === 'string' ? [process.execPath, [path.join(ROOT, main)]] : [path.join(ROOT, main.binary), []];
    const child = spawn(command, args, { env: { ...common, ...extraEnv }, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    children.push({ name, child });
    launched.set(name, { main, port, extraEnv, child });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(name, baseUrl, child, logFile);
    log(`platform: ${name} ready at ${baseUrl}`);
    return baseUrl;
  };

  /** Kills one process with `signal` (SIGKILL: a crash) and starts it again, as a supervisor would. */
  const restart = async (name, { signal = 'SIGKILL' } = {}) => {
    const entry = launched.get(name);
    if (!entry) throw new Error(`no process named ${name}`);
    if (running(entry.child)) {
      const exited = new Promise((resolve) => entry.child.once('exit', resolve));
      entry.child.kill(signal);
      await exited;
    }
    await launch(name, entry.main, entry.port, entry.extraEnv);
  };

  /** Kills one process without starting it again. */
  const kill = async (name, signal = 'SIGKILL') => {
    const entry = launched.get(name);
    if (!entry || !running(entry.child)) return;
    const exited = new Promise((resolve) => entry.child.once('exit', resolve));
    entry.child.kill(signal);
    await exited;
  };

  const stop = async () => {
    // Gateway first, so no request reaches a subgraph that is already gone.
    for (const { child } of [...children].reverse()) {
      if (!running(child)) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    }
  };

  try {
    const gatewayEnv = {};
    // Identity first: every other service verifies tokens against its JWKS.
    const ordered = subgraphList().sort((a, b) => Number(b.name === 'identity') - Number(a.name === 'identity'));
    for (const subgraph of ordered) {
      const port = ports[subgraph.name] ?? subgraph.port;
      const upper = subgraph.name.toUpperCase();
      const url = await launch(subgraph.name, subgraph.main ?? { binary: subgraph.binary }, port, {
        [`${upper}_PORT`]: String(port),
        [`${upper}_DATABASE_URL`]: contextDatabaseUrl(subgraph.name, database),
        // A search index per platform database, so two platforms never share one (unless one is given).
        SEARCH_INDEX_DIR: common.SEARCH_INDEX_DIR ?? path.join(ROOT, '.data', `search-index-${database ?? databaseName()}`),
        SEARCH_HOST: '127.0.0.1',
      });
      gatewayEnv[`SUBGRAPH_${upper}_URL`] = `${url}/graphql`;
      if (subgraph.name === 'identity') common.IDENTITY_JWKS_URL = `${url}/.well-known/jwks.json`;
    }
    const gatewayPort = ports.gateway ?? 4000;
    const gatewayUrl = await launch('gateway', 'gateway/dist/main.js', gatewayPort, { ...gatewayEnv, GATEWAY_PORT: String(gatewayPort) });
    return { gatewayUrl, children, stop, restart, kill };
  } catch (err) {
    await stop();
    throw err;
  }
}
