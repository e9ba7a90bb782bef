// Runs the platform's processes: every subgraph listed in schema/subgraphs.json, then the gateway
// in front of them. Used by `npm start` and by the end-to-end tests, so both run the same thing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, contextDatabaseUrl, natsUrl, redisUrl } from './env.mjs';

export function subgraphList() {
  const { subgraphs } = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8'));
  return Object.entries(subgraphs).map(([name, s]) => ({ name, ...s }));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(name, baseUrl, child, logFile, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
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
 * schema/subgraphs.json and 4000 for the gateway. Returns the gateway URL and a stop function.
 */
export async function startPlatform({ env = {}, ports = {}, logDir, log = console.error } = {}) {
  fs.mkdirSync(logDir, { recursive: true });
  const children = [];
  const common = { ...process.env, REDIS_URL: redisUrl(), NATS_URL: natsUrl(), ...env };

  const launch = async (name, main, port, extraEnv) => {
    const logFile = path.join(logDir, `${name}.log`);
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [path.join(ROOT, main)], { env: { ...common, ...extraEnv }, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    children.push({ name, child });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(name, baseUrl, child, logFile);
    log(`platform: ${name} ready at ${baseUrl}`);
    return baseUrl;
  };

  const stop = async () => {
    // Gateway first, so no request reaches a subgraph that is already gone.
    for (const { child } of [...children].reverse()) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    }
  };

  try {
    const gatewayEnv = {};
    for (const subgraph of subgraphList()) {
      const port = ports[subgraph.name] ?? subgraph.port;
      const upper = subgraph.name.toUpperCase();
      const url = await launch(subgraph.name, subgraph.main, port, {
        [`${upper}_PORT`]: String(port),
        [`${upper}_DATABASE_URL`]: contextDatabaseUrl(subgraph.name),
      });
      gatewayEnv[`SUBGRAPH_${upper}_URL`] = `${url}/graphql`;
      if (subgraph.name === 'identity') gatewayEnv.IDENTITY_JWKS_URL = `${url}/.well-known/jwks.json`;
    }
    const gatewayPort = ports.gateway ?? 4000;
    const gatewayUrl = await launch('gateway', 'gateway/dist/main.js', gatewayPort, { ...gatewayEnv, GATEWAY_PORT: String(gatewayPort) });
    return { gatewayUrl, children, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
