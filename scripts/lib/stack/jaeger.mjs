// A trace backend of our own for the local platform (`START_TRACING=1 npm start`): Jaeger v2, built
// once from the Go module proxy into <COURSEGRAPH_DATA_DIR>/tools/bin, run with the committed
// deploy/jaeger/config.yaml (OTLP/HTTP in on JAEGER_OTLP_PORT, the UI and its query API on
// JAEGER_UI_PORT, traces kept in memory). Found again through its pid file, like Prometheus; a Jaeger
// the operator runs elsewhere is never touched. Node built-ins only.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, dataDir, env } from '../env.mjs';
import { show } from './config.mjs';
import { isAlive, livePid, run, spawnDetached, waitUntil, which } from './processes.mjs';

export const JAEGER_CONFIG = path.join(ROOT, 'deploy/jaeger/config.yaml');
/** The module's v1 tags carry Jaeger v2's `jaeger` binary (v1.75.0 is Jaeger v2.12). */
export const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';
export const JAEGER_VERSION = 'v1.75.0';

const port = (name, fallback) => {
  const value = env(name, fallback);
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new Error(`${name} must be a port number (1-65535), not ${JSON.stringify(value)}`);
  return n;
};

/** Where our Jaeger listens and keeps its files (read on every call, like prometheusConfig()). */
export function jaegerConfig() {
  const otlpPort = port('JAEGER_OTLP_PORT', '4318');
  const uiPort = port('JAEGER_UI_PORT', '16686');
  if (otlpPort === uiPort) throw new Error(`JAEGER_OTLP_PORT and JAEGER_UI_PORT must differ (both ${otlpPort})`);
  const tools = path.join(dataDir(), 'tools');
  const dir = path.join(dataDir(), 'jaeger');
  return {
    otlpPort,
    uiPort,
    /** What the services get as OTEL_EXPORTER_OTLP_ENDPOINT (they POST to <it>/v1/traces). */
    otlpUrl: `http://127.0.0.1:${otlpPort}`,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    // The version is in the name: a new JAEGER_VERSION builds anew instead of reusing an older binary.
    binary: path.join(tools, 'bin', `jaeger-${JAEGER_VERSION}`),
    moduleDir: path.join(tools, `jaeger-${JAEGER_VERSION}-module`),
    dir,
    pidFile: path.join(dir, 'jaeger.pid'),
    log: path.join(dataDir(), 'logs', 'jaeger.log'),
    /** The variables deploy/jaeger/config.yaml reads (`${env:NAME:-default}`). */
    env: { JAEGER_OTLP_PORT: String(otlpPort), JAEGER_UI_PORT: String(uiPort) },
  };
}

/** The Go toolchain: `go` on the PATH, else the official tarball's place. */
const goBinary = () => which('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);

/**
 * Builds Jaeger into `binary` unless it is there (a few minutes on 2 cores, once per data dir).
 * `go install module@version` refuses Jaeger's module, whose go.mod has a replace directive, so the
 * build runs in a module of our own that requires Jaeger as a tool and repeats its replace.
 */
export async function ensureJaeger({ log = console.error } = {}) {
  const j = jaegerConfig();
  if (fs.existsSync(j.binary)) return j.binary;
  const go = goBinary();
  if (!go)
    throw new Error(
      `building Jaeger needs Go 1.24 or later (${JAEGER_MODULE}@${JAEGER_VERSION}); none found on the PATH or in /usr/local/go`,
    );
  // GOTOOLCHAIN=local: build with the Go that is here rather than download the one Jaeger's go.mod
  // names; -buildvcs=false: the module dir sits inside this clone's git tree, which is not Jaeger's.
  const goEnv = { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false' };
  const inModule = (...args) => run(go, ['-C', j.moduleDir, ...args], { env: goEnv, label: 'jaeger build' });
  const started = performance.now();
  log(`stack: building Jaeger ${JAEGER_VERSION} from the Go module proxy (once, into ${show(j.binary)})`);
  fs.rmSync(j.moduleDir, { recursive: true, force: true });
  fs.mkdirSync(j.moduleDir, { recursive: true });
  fs.mkdirSync(path.dirname(j.binary), { recursive: true });
  await inModule('mod', 'init', 'coursegraph.local/tools/jaeger');
  await inModule('mod', 'edit', '-replace', 'github.com/Shopify/sarama=github.com/Shopify/sarama@v1.33.0');
  await inModule('get', '-tool', `${JAEGER_MODULE}/cmd/jaeger@${JAEGER_VERSION}`);
  // Built beside, then renamed: an interrupted build never leaves a binary that looks finished.
  await inModule('build', '-o', `${j.binary}.tmp`, `${JAEGER_MODULE}/cmd/jaeger`);
  fs.renameSync(`${j.binary}.tmp`, j.binary);
  log(`stack: Jaeger built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return j.binary;
}

/** True when our OTLP receiver and query API both answer. */
const ready = async (j) => {
  try {
    const signal = AbortSignal.timeout(1000);
    const [otlp, query] = await Promise.all([
      fetch(`${j.otlpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"resourceSpans":[]}',
        signal,
      }),
      fetch(`${j.uiUrl}/api/services`, { signal }),
    ]);
    return otlp.ok && query.ok;
  } catch {
    return false;
  }
};

/** Whether anything listens on one of Jaeger's ports (a refused connection is a free port). */
const portTaken = async (url) => {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch (err) {
    return err.cause?.code !== 'ECONNREFUSED';
  }
};

/**
 * Starts Jaeger (building it when missing) unless ours already runs; resolves with
 * `{ otlpUrl, uiUrl, started }`. A port answered by something else is an error naming its setting.
 */
export async function startJaeger({ log = console.error } = {}) {
  const j = jaegerConfig();
  if (livePid(j.pidFile, 'jaeger')) {
    log(`stack: jaeger already running at ${j.uiUrl}, reusing it`);
    return { otlpUrl: j.otlpUrl, uiUrl: j.uiUrl, started: false };
  }
  for (const [name, url] of [
    ['JAEGER_OTLP_PORT', j.otlpUrl],
    ['JAEGER_UI_PORT', j.uiUrl],
  ])
    if (await portTaken(url))
      throw new Error(`stack: ${url} is taken by a process this clone did not start; set ${name}`);
  const binary = await ensureJaeger({ log });
  fs.mkdirSync(j.dir, { recursive: true });
  fs.mkdirSync(path.dirname(j.log), { recursive: true });
  // Jaeger writes no pid file and logs to stderr: a shell (exec, so the pid is Jaeger's) records its
  // pid and sends its output to the log file; `env` hands the config its ports.
  const ports = Object.entries(j.env).map(([k, v]) => `${k}=${v}`);
  const quoted = ['env', ...ports, binary, `--config=${JAEGER_CONFIG}`]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ');
  const child = spawnDetached('sh', ['-c', `echo $$ > '${j.pidFile}'; exec ${quoted} >> '${j.log}' 2>&1`], j.dir);
  await waitUntil(`jaeger answering at ${j.otlpUrl} and ${j.uiUrl}`, () => ready(j), {
    logFile: j.log,
    dead: child.exited,
  });
  log(`stack: jaeger at ${j.uiUrl} (OTLP/HTTP at ${j.otlpUrl}, traces in memory)`);
  return { otlpUrl: j.otlpUrl, uiUrl: j.uiUrl, started: true };
}

/** Stops our Jaeger if it runs (found through its pid file); resolves with whether it did. */
export async function stopJaeger({ log = console.error } = {}) {
  const j = jaegerConfig();
  const pid = livePid(j.pidFile, 'jaeger');
  if (!pid) return false;
  log(`stack: stopping jaeger (pid ${pid})`);
  process.kill(pid, 'SIGTERM');
  await waitUntil(`jaeger (pid ${pid}) exiting`, () => !isAlive(pid), { timeoutMs: 30_000, logFile: j.log });
  fs.rmSync(j.pidFile, { force: true });
  return true;
}
