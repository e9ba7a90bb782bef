// The gateways under test, each started the same way: a process tree on a free port, with the
// same number of processes, pointed at the benchmark's subgraphs, ready when `{ __typename }` answers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../../scripts/lib/env.mjs';
import { treeRssMb } from '../lib/measure.mjs';
import { ensureHiveRouter, hiveRouterCommand, installedVersion as hiveRouterVersion } from './hive-router.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const GATEWAYS = ['coursegraph', 'apollo-server', 'hive-gateway', 'hive-router'];

export function versions() {
  const version = (pkg) =>
    JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  return {
    node: process.version,
    'coursegraph (graphql-yoga)': version('graphql-yoga'),
    'coursegraph (@apollo/gateway)': version('@apollo/gateway'),
    'coursegraph (@envelop/apollo-federation)': version('@envelop/apollo-federation'),
    '@apollo/server': version('@apollo/server'),
    '@apollo/gateway': version('@apollo/gateway'),
    '@graphql-hive/gateway': version('@graphql-hive/gateway'),
    '@graphql-hive/gateway-runtime': version('@graphql-hive/gateway-runtime'),
    graphql: version('graphql'),
    'hive-router': hiveRouterVersion() ?? 'not installed',
  };
}

/**
 * A copy of the supergraph whose `@join__graph(url:)` point at the benchmark's subgraphs, for the
 * gateways that have no per-subgraph URL override of their own.
 */
export function rewriteSupergraph(subgraphUrls, file) {
  let sdl = fs.readFileSync(path.join(ROOT, 'schema/supergraph.graphql'), 'utf8');
  sdl = sdl.replace(/@join__graph\(name: "([^"]+)", url: "([^"]+)"\)/g, (whole, name) => {
    const url = subgraphUrls[name];
    if (!url) throw new Error(`no benchmark URL for subgraph ${name}`);
    return `@join__graph(name: "${name}", url: "${url}")`;
  });
  fs.writeFileSync(file, sdl);
  return file;
}

/**
 * How each gateway is started: command, arguments and environment for `processes` processes.
 * `nodeArgs` (e.g. --cpu-prof) go to the Node gateways started directly; `checkout` is where our
 * gateway's build is read from (another commit's, for a before-and-after in one run).
 */
function commandFor(name, { port, processes, supergraphFile, subgraphUrls, env, nodeArgs = [], checkout = ROOT }) {
  const base = { ...process.env, ...env };
  if (name === 'coursegraph') {
    const overrides = Object.fromEntries(
      Object.entries(subgraphUrls).map(([n, url]) => [`SUBGRAPH_${n.toUpperCase()}_URL`, url]),
    );
    return {
      command: process.execPath,
      args: [...nodeArgs, path.join(checkout, 'gateway/dist/main.js')],
      env: { ...base, ...overrides, GATEWAY_PORT: String(port), GATEWAY_WORKERS: String(processes) },
    };
  }
  if (name === 'apollo-server') {
    return {
      command: process.execPath,
      args: [...nodeArgs, path.join(HERE, 'apollo-server.mjs')],
      env: { ...base, PORT: String(port), BENCH_SUPERGRAPH: supergraphFile, BENCH_WORKERS: String(processes) },
    };
  }
  if (name === 'hive-gateway') {
    return {
      command: path.join(ROOT, 'node_modules/.bin/hive-gateway'),
      args: [
        'supergraph',
        supergraphFile,
        '--config-path',
        path.join(HERE, 'hive-gateway.config.mjs'),
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--fork',
        String(processes),
      ],
      env: { ...base, NODE_ENV: 'production' },
    };
  }
  if (name === 'hive-router') return hiveRouterCommand({ port, processes, supergraphFile });
  throw new Error(`unknown gateway ${name}`);
}

/**
 * Starts one gateway and samples its process tree's RSS every 250 ms until stopped. `peakRssMb()`
 * reads the peak since the last `resetPeak()`, so each workload gets its own figure.
 */
export async function startGateway(name, options) {
  // Built from crates.io the first time (minutes), reused afterwards.
  if (name === 'hive-router') await ensureHiveRouter({ log: (line) => console.log('bench:gateway:', line) });
  const { command, args, env } = commandFor(name, options);
  const logFile = path.join(options.logDir, `${name}${options.tag ? `-${options.tag}` : ''}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', out, out], cwd: ROOT });
  fs.closeSync(out);
  const url = `http://127.0.0.1:${options.port}/graphql`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${logFile}`);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    }).catch(() => null);
    if (res?.ok && (await res.json()).data?.__typename === 'Query') break;
    if (Date.now() > deadline) throw new Error(`${name} did not answer at ${url}; see ${logFile}`);
    await sleep(200);
  }
  // Every worker of a cluster must be up before the clock starts: give the forks a moment.
  if (options.processes > 1) await sleep(3_000);
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, treeRssMb(child.pid));
  };
  sample();
  const timer = setInterval(sample, 250);
  return {
    name,
    url,
    pid: child.pid,
    logFile,
    resetPeak: () => {
      peak = 0;
      sample();
    },
    peakRssMb: () => (sample(), Math.round(peak)),
    async stop() {
      clearInterval(timer);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
