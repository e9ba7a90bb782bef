// Hive Router (The Guild's federation router, in Rust) as a reference gateway for bench:gateway.
// It is not an npm package: the benchmark builds it from crates.io with cargo into .data/tools the
// first time (about 40 minutes on this machine), then reuses the binary. The `graphiql` feature is asked for
// because without it the crate's build script runs an npm install of its web IDE, which fails here.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, dataDir } from '../../../scripts/lib/env.mjs';

// The newest release that builds with rustc 1.95: every 0.3.x pins ntex crates that need rustc 1.97.
export const HIVE_ROUTER_VERSION = '0.2.19';

const TOOLS = path.join(dataDir(), 'tools');
const BINARY = path.join(TOOLS, 'bin', 'hive_router');

/** The version cargo recorded for the installed binary, or null when none is installed. */
export function installedVersion() {
  if (!fs.existsSync(BINARY)) return null;
  try {
    const { installs } = JSON.parse(fs.readFileSync(path.join(TOOLS, '.crates2.json'), 'utf8'));
    const key = Object.keys(installs).find((k) => k.startsWith('hive-router '));
    return key ? key.split(' ')[1] : null;
  } catch {
    return null;
  }
}

/**
 * The path of a hive_router binary of HIVE_ROUTER_VERSION, installed with cargo when missing (or of
 * another version). Cargo's output goes to a log file next to the binary; a failed build throws
 * with the end of that log.
 */
export async function ensureHiveRouter({ log = console.log } = {}) {
  if (installedVersion() === HIVE_ROUTER_VERSION) return BINARY;
  fs.mkdirSync(TOOLS, { recursive: true });
  const logFile = path.join(TOOLS, 'hive-router-install.log');
  const args = [
    'install',
    'hive-router',
    '--version',
    HIVE_ROUTER_VERSION,
    '--locked',
    '--features',
    'graphiql',
    '--root',
    TOOLS,
    '--force',
  ];
  log(`hive-router ${HIVE_ROUTER_VERSION} not installed: building it (cargo ${args.join(' ')}; output in ${logFile})`);
  const started = Date.now();
  const out = fs.openSync(logFile, 'w');
  const child = spawn('cargo', args, { cwd: ROOT, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (code !== 0 || installedVersion() !== HIVE_ROUTER_VERSION) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    throw new Error(
      `cargo install hive-router ${HIVE_ROUTER_VERSION} failed (exit ${code}) after ${seconds} s:\n${tail}`,
    );
  }
  log(`hive-router ${HIVE_ROUTER_VERSION} built in ${seconds} s: ${BINARY}`);
  return BINARY;
}

/**
 * How to start the router on `port` against `supergraphFile`, for `processes`: the router is one
 * multi-threaded process, so `processes` becomes its HTTP worker thread count (`http.workers`;
 * its own default is one per core). Its configuration is written next to the supergraph copy (the
 * run's temp folder). The caller's Authorization header is propagated to every subgraph, as the
 * other gateways do (the subgraphs verify tokens themselves). Everything else is the router's
 * default, as for the other reference gateways: among them, identical in-flight subgraph requests
 * (same headers included) are shared, identical inbound requests are not.
 */
export function hiveRouterCommand({ port, processes, supergraphFile }) {
  const configFile = path.join(path.dirname(supergraphFile), `hive-router.${port}.config.yaml`);
  // JSON strings are valid YAML scalars, so paths with any character stay intact.
  const yaml = `supergraph:
  source: file
  path: ${JSON.stringify(supergraphFile)}
http:
  host: 127.0.0.1
  port: ${port}
  workers: ${processes}
headers:
  all:
    request:
      - propagate:
          named: authorization
log:
  level: warn
laboratory:
  enabled: false
`;
  fs.writeFileSync(configFile, yaml);
  return {
    command: BINARY,
    args: [],
    // Only what the router needs: it lets variables such as PORT, HOST, LOG_LEVEL or
    // SUPERGRAPH_FILE_PATH override its file, and the benchmark's own environment sets some of them.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ROUTER_CONFIG_FILE_PATH: configFile },
  };
}
