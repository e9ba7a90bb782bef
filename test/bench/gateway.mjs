#!/usr/bin/env node
// Gateway load benchmark (npm run bench:gateway): our gateway against @apollo/gateway on
// @apollo/server and Hive Gateway, on our own supergraph and demo data, in one run.
// Starts the subgraphs once (database coursegraph_bench_gateway, a NATS server and free ports of its
// own), seeds the demo data, signs learners in, fetches reference answers, then for each gateway in
// turn: start it with BENCH_PROCESSES processes, assert it gives the reference answers, and for each
// workload run BENCH_CONNECTIONS connections for BENCH_WARMUP_S (discarded) then BENCH_DURATION_S,
// checking every answer. Needs `npm run build`, `cargo build --bins` in rust-subgraphs and the stack
// (node scripts/stack.mjs up). Writes test/bench/results/gateway.json and gateway.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/env.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  connections: Number(env('BENCH_CONNECTIONS', 50)),
  warmup_s: Number(env('BENCH_WARMUP_S', 5)),
  duration_s: Number(env('BENCH_DURATION_S', 20)),
  // One process each: our gateway's default, and what did best on this two-core machine (README).
  processes_per_gateway: Number(env('BENCH_PROCESSES', 1)),
  gateways: env('BENCH_GATEWAYS', 'coursegraph,apollo-server,hive-gateway,hive-router').split(','),
  workloads: env('BENCH_WORKLOADS', 'catalog,deep,mutation,varied,dashboard-varied,mixed').split(','),
  catalog_page_size: 20,
  learners_signed_in: Number(env('BENCH_LEARNERS', 1500)),
  deep_learners: Number(env('BENCH_DEEP_LEARNERS', 200)),
  // The real-traffic workloads (traffic.mjs): distinct anonymous operations, distinct signed-in learners.
  varied_operations: Number(env('BENCH_VARIED_OPERATIONS', 600)),
  dashboard_learners: Number(env('BENCH_DASHBOARD_LEARNERS', 500)),
  seed: Number(env('BENCH_SEED', 20261207)),
  database: env('BENCH_DATABASE', 'coursegraph_bench_gateway'),
  fresh_database: env('BENCH_KEEP_DATABASE', '') === '',
  variants: env('BENCH_VARIANTS', '1') !== '0',
  // BENCH_ONLY_VARIANTS=a,b: of the variants, only these (by name).
  only_variants: env('BENCH_ONLY_VARIANTS', '').split(',').filter(Boolean),
  output: env('BENCH_OUTPUT', 'gateway'),
  // BENCH_PROFILE=1: the Node gateways (node --cpu-prof, their whole run) and subgraphs (each measured
  // window, test/bench/lib/cpu-profile.cjs) write CPU profiles into the run's log folder.
  profile: env('BENCH_PROFILE', '') === '1',
  // BENCH_BASELINE_DIR: a built checkout of another commit; its gateway runs as coursegraph@<commit>.
  baseline_dir: env('BENCH_BASELINE_DIR', ''),
  log_level: 'warn',
  load_generator: 'in-process node:http keep-alive loop, one connection = one request in flight',
};
// The platform's processes read these; set before the scripts that read them are imported.
process.env.POSTGRES_DB = SETTINGS.database;
process.env.REDIS_URL ||= 'redis://127.0.0.1:6379/3';
process.env.LOG_LEVEL = SETTINGS.log_level;

const { bootstrap, deploy } = await import('../../scripts/prisma.mjs');
const { seedActivity, seedCatalog } = await import('../../scripts/seed.mjs');
const { startPlatform, subgraphList } = await import('../../scripts/lib/platform.mjs');
const { checkBuilt, dropDatabase, freePort, startNats, waitForEventsSettled } = await import('./lib/platform.mjs');
const { cpuMeter, sharedServerPids, waitForQuiet } = await import('./gateway/cpu.mjs');
const { withRedisPassword } = await import('../../scripts/lib/credentials.mjs');
const { GATEWAYS, rewriteSupergraph, startGateway, versions } = await import('./gateway/gateways.mjs');
const { runLoad } = await import('./gateway/load.mjs');
const W = await import('./gateway/workloads.mjs');
const { countByName } = await import('./gateway/traffic.mjs');
const { ensureHiveRouter } = await import('./gateway/hive-router.mjs');

const log = (...args) => console.log('bench:gateway:', ...args);
const DEMO_PASSWORD = 'coursegraph-demo';

checkBuilt();
// Hive Router is built from crates.io the first time (tens of minutes): before anything else starts.
if (SETTINGS.gateways.includes('hive-router')) await ensureHiveRouter({ log });
const t0 = Date.now();
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-gateway-'));
const logDir = path.join(ROOT, '.data/bench-logs', `gateway-${Date.now()}`);
fs.mkdirSync(logDir, { recursive: true });

if (SETTINGS.fresh_database) await dropDatabase(SETTINGS.database);
await bootstrap({ database: SETTINGS.database });
deploy({ quiet: true, database: SETTINGS.database });
log('demo catalog');
await seedCatalog();

const nats = await startNats();
const names = ['gateway', ...subgraphList().map((s) => s.name)];
const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
// The subgraphs' environment; a variant may add to it (`subgraphEnv`: metrics off, tracing on), and
// the subgraphs are then restarted on the same database and NATS server for its runs.
const subgraphEnv = {
  NATS_URL: nats.url,
  SEARCH_INDEX_DIR: path.join(runDir, 'search-index'),
  ACCESS_TOKEN_TTL_SECONDS: '3600',
  LOG_LEVEL: SETTINGS.log_level,
  RATE_LIMITS: 'false',
  // ai's generation at publication writes flashcards for every seeded lesson in the background for
  // many minutes: load that no gateway causes, and that would fall on the first ones measured.
  AI_GENERATE_ON_PUBLISH: 'false',
  // Profiled, each Node subgraph records only the measured windows (SIGUSR2 starts and ends one).
  ...(SETTINGS.profile
    ? {
        NODE_OPTIONS: `--require ${path.join(ROOT, 'test/bench/lib/cpu-profile.cjs')}`,
        BENCH_CPU_PROFILE_DIR: path.join(logDir, 'profile-subgraphs'),
      }
    : {}),
};
const launch = (extra = {}) =>
  startPlatform({ ports, database: SETTINGS.database, env: { ...subgraphEnv, ...extra }, logDir, log: () => {} });
let platform;
let platformExtra = '{}';
/** Each subgraph's process (tree) and the servers they share. */
const platformPids = () => ({
  ...Object.fromEntries(subgraphList().map((s) => [s.name, platform.pid(s.name)])),
  ...sharedServerPids(nats),
});
try {
  platform = await launch();
} catch (err) {
  // startPlatform stops what it started; the NATS server is ours to stop.
  await nats.dispose();
  throw err;
}
// Spans of the `+tracing` variant go here: an OTLP/HTTP receiver that reads and drops them (its CPU is
// the load generator's, not counted for any service).
let otlpSink = null;
async function startOtlpSink() {
  if (otlpSink) return otlpSink;
  const port = await freePort();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  otlpSink = { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
  return otlpSink;
}
/**
 * What is measured, in order: the gateways, and (BENCH_VARIANTS, on by default) ours with an
 * optimisation turned off, so each one's effect is measured in the same run; ours with its caches
 * on (`+entity-cache`, `+caches`); the cached phase (`+response-cache`: ours and Hive's response
 * caches on, catalog only); the subgraphs' hot reads through Prisma (`~prisma-reads`); what observability costs (`~metrics-off`, `+tracing`: the
 * subgraphs are restarted with the setting, so every process pays or saves it).
 */
const otherProcesses = SETTINGS.processes_per_gateway === 1 ? 2 : 1;
const VARIANTS = [
  {
    name: 'coursegraph~apollo-fetcher',
    gateway: 'coursegraph',
    tag: 'apollo-fetcher',
    env: {
      GATEWAY_SUBGRAPH_CLIENT: 'apollo',
      GATEWAY_DEDUPLICATE_QUERIES: 'false',
      GATEWAY_SHARE_IN_FLIGHT_OPERATIONS: 'false',
    },
    workloads: ['catalog', 'deep', 'mutation', 'varied'],
    what: "@apollo/gateway's default subgraph fetcher, nothing shared: the gateway before its optimisations (subgraph optimisations included)",
  },
  {
    name: 'coursegraph~keep-alive',
    gateway: 'coursegraph',
    tag: 'keep-alive',
    env: { GATEWAY_DEDUPLICATE_QUERIES: 'false', GATEWAY_SHARE_IN_FLIGHT_OPERATIONS: 'false' },
    workloads: ['catalog', 'deep', 'varied'],
    what: 'plus the keep-alive subgraph client',
  },
  {
    name: 'coursegraph~subgraph-dedup',
    gateway: 'coursegraph',
    tag: 'subgraph-dedup',
    env: { GATEWAY_SHARE_IN_FLIGHT_OPERATIONS: 'false' },
    workloads: ['catalog', 'deep', 'varied'],
    what: 'plus identical in-flight subgraph queries shared (mutations never are)',
  },
  {
    name: 'hive-gateway~inbound-dedupe',
    gateway: 'hive-gateway',
    tag: 'inbound-dedupe',
    env: { BENCH_HIVE_INBOUND_DEDUPE: '1' },
    workloads: ['catalog', 'deep'],
    what: 'Hive Gateway with its opt-in inbound in-flight request deduplication (the counterpart of ours; off by default)',
  },
  {
    name: `coursegraph~${otherProcesses}-process`,
    gateway: 'coursegraph',
    tag: `${otherProcesses}-process`,
    env: {},
    processes: otherProcesses,
    what: `everything on, ${otherProcesses} process(es) instead of BENCH_PROCESSES`,
  },
  {
    name: 'coursegraph+entity-cache',
    gateway: 'coursegraph',
    tag: 'entity-cache',
    env: { GATEWAY_ENTITY_CACHE: 'on' },
    workloads: ['varied', 'dashboard-varied', 'mixed'],
    what: "everything on, plus the entity cache (public fields of subgraphs' _entities answers in Redis, shared by callers, dropped by events)",
  },
  {
    name: 'coursegraph+caches',
    gateway: 'coursegraph',
    tag: 'caches',
    env: { GATEWAY_ENTITY_CACHE: 'on', GATEWAY_RESPONSE_CACHE: 'on' },
    workloads: ['catalog', 'varied', 'dashboard-varied', 'mixed'],
    what: 'everything on, plus both caches: the response cache (anonymous answers) and the entity cache',
  },
  {
    name: 'coursegraph+response-cache',
    gateway: 'coursegraph',
    tag: 'response-cache',
    env: { GATEWAY_RESPONSE_CACHE: 'on' },
    workloads: ['catalog'],
    what: 'everything on, plus the response cache (anonymous answers, dropped by events; 30 s time to live)',
  },
  {
    name: 'hive-gateway+response-cache',
    gateway: 'hive-gateway',
    tag: 'response-cache',
    env: { BENCH_HIVE_RESPONSE_CACHE: '1' },
    workloads: ['catalog'],
    what: 'Hive Gateway with its response cache (per Authorization, 30 s time to live)',
  },
  {
    name: 'coursegraph+subgraph-processes',
    gateway: 'coursegraph',
    tag: 'subgraph-processes',
    env: {},
    processes: 2,
    subgraphEnv: { SUBGRAPH_PROCESSES: '2' },
    workloads: ['varied', 'dashboard-varied', 'mixed'],
    what: 'scaling past one process: the gateway and the busiest subgraphs (identity, course, enrollment, payment) as 2 processes each (GATEWAY_WORKERS, SUBGRAPH_PROCESSES); search is multi-threaded already',
  },
  {
    name: 'coursegraph~prisma-reads',
    gateway: 'coursegraph',
    tag: 'prisma-reads',
    env: {},
    subgraphEnv: { DB_HOT_READS: 'prisma' },
    workloads: ['catalog', 'varied', 'dashboard-varied', 'mixed'],
    what: "the subgraphs' hot reads through the Prisma client instead of named prepared SQL (DB_HOT_READS=prisma): what the plain SQL bought",
  },
  {
    name: 'coursegraph~metrics-off',
    gateway: 'coursegraph',
    tag: 'metrics-off',
    env: { METRICS: 'off' },
    subgraphEnv: { METRICS: 'off' },
    workloads: ['catalog', 'mixed'],
    what: 'Prometheus metrics off in the gateway and every subgraph (the default is on): what metrics cost',
  },
  {
    name: 'coursegraph+tracing',
    gateway: 'coursegraph',
    tag: 'tracing',
    env: { TRACING: 'on' },
    subgraphEnv: { TRACING: 'on' },
    otlp: true,
    workloads: ['catalog', 'mixed'],
    what: 'OpenTelemetry traces on in the gateway and every subgraph (every request sampled, exported to an OTLP/HTTP receiver that drops them; the default is off): what tracing costs',
  },
];
const baselineCommit = SETTINGS.baseline_dir
  ? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: SETTINGS.baseline_dir, encoding: 'utf8' }).trim()
  : null;
const runs = [
  ...GATEWAYS.filter((g) => SETTINGS.gateways.includes(g)).map((g) => ({ name: g, gateway: g, env: {} })),
  ...(baselineCommit
    ? [
        {
          name: `coursegraph@${baselineCommit}`,
          gateway: 'coursegraph',
          tag: `at-${baselineCommit}`,
          env: {},
          checkout: path.resolve(SETTINGS.baseline_dir),
          what: `our gateway and kit as built at ${baselineCommit}`,
        },
      ]
    : []),
  ...(SETTINGS.variants
    ? VARIANTS.filter(
        (v) =>
          SETTINGS.gateways.includes(v.gateway) &&
          (SETTINGS.only_variants.length === 0 || SETTINGS.only_variants.includes(v.name)),
      )
    : []),
  // The variants that restart the subgraphs with another setting run first, so the subgraphs are
  // restarted only twice (into them, and back) and the comparison runs on processes that stay up.
].sort((a, b) => Number(Boolean(b.subgraphEnv)) - Number(Boolean(a.subgraphEnv)));
const results = [];
const agreement = {};
let running = null;
try {
  log('demo activity (orders through the saga, enrolments, progress)');
  await seedActivity();
  const subgraphUrls = Object.fromEntries(
    subgraphList().map((s) => [s.name, `http://127.0.0.1:${ports[s.name]}/graphql`]),
  );
  const setupUrl = `${platform.gatewayUrl}/graphql`;
  // Our gateway verifies tokens itself, with identity's keys.
  // The benchmark measures the gateway's work, from one address: its rate limits stay off, as before they existed.
  // With the stack's generated Redis password, as the platform gives it to its own services: without
  // it our gateway's token-revocation check and entity cache would wait on a Redis that refuses them.
  const gatewayEnv = {
    NATS_URL: nats.url,
    REDIS_URL: withRedisPassword(process.env.REDIS_URL),
    IDENTITY_JWKS_URL: `http://127.0.0.1:${ports.identity}/.well-known/jwks.json`,
    RATE_LIMITS: 'false',
  };
  log(`signing in ${SETTINGS.learners_signed_in} learners`);
  // Two groups of mutation learners per run: one for the mutation workload, one for mixed's mutations.
  const learners = await W.prepareLearners(setupUrl, {
    learners: SETTINGS.learners_signed_in,
    deepLearners: SETTINGS.deep_learners,
    dashboardLearners: SETTINGS.dashboard_learners,
    mutationGroups: runs.length * 2,
    password: DEMO_PASSWORD,
  });
  log(
    `reference answers (catalog, ${learners.dashboard.length} dashboards, ${SETTINGS.varied_operations} varied operations)`,
  );
  const references = await W.fetchReferences(setupUrl, learners, SETTINGS.catalog_page_size, {
    seed: SETTINGS.seed,
    variedOperations: SETTINGS.varied_operations,
  });
  SETTINGS.mutation_items_per_gateway = Math.min(...learners.mutationGroups.map((g) => g.length));
  SETTINGS.deep_learners_with_orders = learners.deepWithOrders;
  SETTINGS.varied_mix = countByName(references.varied);
  // The platform's own gateway served the set-up; the measured ones are started one at a time below.
  await platform.kill('gateway');
  // The seed's and sign-ins' events are applied before anything is measured.
  await waitForEventsSettled(Object.fromEntries(subgraphList().map((s) => [s.name, ports[s.name]])), { log });
  // And whatever else the set-up started (jobs catching up, a cold start) is over, so the first
  // gateway measured does not share the machine with it and the last one not.
  await waitForQuiet(platformPids(), { log });
  const supergraphFile = rewriteSupergraph(subgraphUrls, path.join(runDir, 'supergraph.graphql'));
  log(
    `ready after ${Math.round((Date.now() - t0) / 1000)} s; ${learners.deep.length} deep learners, ${SETTINGS.mutation_items_per_gateway}+ lessons to complete per gateway`,
  );

  // CPU per operation of every process that serves the load: the gateway's tree, each subgraph, and
  // the servers they share (PostgreSQL with its backends, Redis, the run's NATS).
  const nodeServices = subgraphList()
    .filter((s) => s.main)
    .map((s) => s.name);
  const measure = async (gateway, name, workload, resultName) => {
    await runLoad({
      url: gateway.url,
      workload,
      connections: SETTINGS.connections,
      durationMs: SETTINGS.warmup_s * 1000,
    });
    gateway.resetPeak();
    const cpu = cpuMeter({ gateway: gateway.pid, ...platformPids() });
    const profiled = SETTINGS.profile ? nodeServices.map((n) => platform.pid(n)).filter(Boolean) : [];
    for (const pid of profiled) process.kill(pid, 'SIGUSR2');
    const figures = await runLoad({
      url: gateway.url,
      workload,
      connections: SETTINGS.connections,
      durationMs: SETTINGS.duration_s * 1000,
    });
    for (const pid of profiled) process.kill(pid, 'SIGUSR2');
    const result = {
      name: resultName,
      ...figures,
      peak_rss_mb: gateway.peakRssMb(),
      cpu_ms_per_op: cpu.perOperation(figures.requests),
    };
    log(
      `${resultName}: ${result.rps} rps, p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms, ${result.errors} errors, peak RSS ${result.peak_rss_mb} MB, CPU ms/op ${JSON.stringify(result.cpu_ms_per_op)}${result.errors ? ` ${JSON.stringify(result.error_reasons)}` : ''}`,
    );
    results.push(result);
  };

  let mutationReference = null;
  const subgraphPorts = Object.fromEntries(subgraphList().map((s) => [s.name, ports[s.name]]));
  for (const [index, run] of runs.entries()) {
    // A variant of the subgraphs' settings restarts them (and the next run that has none, back again).
    const extra = { ...(run.subgraphEnv ?? {}) };
    if (run.otlp) extra.OTEL_EXPORTER_OTLP_ENDPOINT = (await startOtlpSink()).url;
    if (JSON.stringify(extra) !== platformExtra) {
      log(`restarting the subgraphs with ${JSON.stringify(extra)}`);
      await platform.stop();
      platform = await launch(extra);
      platformExtra = JSON.stringify(extra);
      await platform.kill('gateway');
      await waitForEventsSettled(subgraphPorts, { log });
      await waitForQuiet(platformPids(), { log });
    }
    if (run.otlp) run.env.OTEL_EXPORTER_OTLP_ENDPOINT = extra.OTEL_EXPORTER_OTLP_ENDPOINT;
    const port = await freePort();
    running = await startGateway(run.gateway, {
      port,
      processes: run.processes ?? SETTINGS.processes_per_gateway,
      supergraphFile,
      subgraphUrls,
      env: { ...gatewayEnv, ...run.env },
      logDir,
      tag: run.tag,
      checkout: run.checkout,
      nodeArgs: SETTINGS.profile ? ['--cpu-prof', '--cpu-prof-dir', path.join(logDir, `profile-${run.name}`)] : [],
    });
    mutationReference = await W.assertSameResults(
      run.name,
      running.url,
      learners,
      references,
      SETTINGS.catalog_page_size,
      mutationReference,
    );
    agreement[run.name] = {
      catalog: true,
      dashboard_learners: learners.dashboard.length,
      varied_operations: references.varied.length,
      mutation: true,
    };
    log(
      `${run.name}: same answers as the reference (catalog, ${learners.dashboard.length} dashboards, ${references.varied.length} varied operations, the agreement mutation)`,
    );
    const loads = W.workloads(learners, references, SETTINGS.catalog_page_size, {
      mutationGroup: learners.mutationGroups[2 * index],
      mixedGroup: learners.mutationGroups[2 * index + 1],
      seed: SETTINGS.seed,
    });
    // A variant measures only the workloads its change can affect.
    for (const workload of SETTINGS.workloads.filter((w) => !run.workloads || run.workloads.includes(w)))
      await measure(running, run.name, loads[workload], `${run.name}/${workload}`);
    await running.stop();
    running = null;
  }
} finally {
  await running?.stop();
  await platform.stop();
  await otlpSink?.close();
  await nats.dispose();
  fs.rmSync(runDir, { recursive: true, force: true });
}

const git = (...args) => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};
const cpus = os.cpus();
const report = {
  benchmark: 'gateway',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus.length,
    model: cpus[0]?.model.trim(),
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  },
  settings: {
    ...SETTINGS,
    response_cache: 'off in the comparison; on only in the +response-cache runs',
    baseline: baselineCommit
      ? {
          commit: baselineCommit,
          dir: SETTINGS.baseline_dir,
          what: "our gateway (and the kit it runs on) as built at that commit; the subgraphs are this commit's",
        }
      : null,
    variants: SETTINGS.variants
      ? Object.fromEntries(
          VARIANTS.map((v) => [
            v.name,
            {
              env: v.env,
              ...(v.subgraphEnv ? { subgraph_env: v.subgraphEnv } : {}),
              processes: v.processes ?? SETTINGS.processes_per_gateway,
              workloads: v.workloads ?? SETTINGS.workloads,
              what: v.what,
            },
          ]),
        )
      : {},
    versions: versions(),
    git_commit: git('rev-parse', '--short', 'HEAD'),
    uncommitted_changes_in:
      git('status', '--porcelain', '--', 'gateway/src', 'subgraphs', 'packages')
        ?.split('\n')
        .filter(Boolean)
        .map((l) => l.slice(3)) ?? [],
    same_results: agreement,
    duration_total_s: Math.round((Date.now() - t0) / 1000),
  },
  results,
};
const outDir = path.join(ROOT, 'test/bench/results');
fs.writeFileSync(path.join(outDir, `${SETTINGS.output}.json`), `${JSON.stringify(report, null, 2)}\n`);

const ratio = (workload, other) => {
  const ours = results.find((r) => r.name === `coursegraph/${workload}`);
  const theirs = results.find((r) => r.name === `${other}/${workload}`);
  return ours && theirs && theirs.rps ? `${(ours.rps / theirs.rps).toFixed(2)}×` : '–';
};
const others = GATEWAYS.filter((g) => g !== 'coursegraph' && SETTINGS.gateways.includes(g));
// The processes that spent the most, in the order of the first row's CPU (the rest add up in "total").
const cpuColumns = Object.keys(results[0]?.cpu_ms_per_op ?? {}).filter((k) => k !== 'total');
const md = [
  `# Gateway benchmark (${report.date.slice(0, 10)})`,
  '',
  `${report.machine.cpus} × ${report.machine.model}, ${report.machine.memory_gb} GB, Node ${report.machine.node}. ${SETTINGS.connections} connections, ${SETTINGS.warmup_s} s warm-up + ${SETTINGS.duration_s} s per workload, ${SETTINGS.processes_per_gateway} process(es) per gateway; every answer checked against a reference.`,
  '',
  '| result | rps | p50 ms | p95 ms | p99 ms | errors | peak RSS MB |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...results.map(
    (r) => `| ${r.name} | ${r.rps} | ${r.p50_ms} | ${r.p95_ms} | ${r.p99_ms} | ${r.errors} | ${r.peak_rss_mb} |`,
  ),
  '',
  `| workload | ${others.map((o) => `ours ÷ ${o} (rps)`).join(' | ')} |`,
  `|---|${others.map(() => '---:').join('|')}|`,
  ...SETTINGS.workloads.map((w) => `| ${w} | ${others.map((o) => ratio(w, o)).join(' | ')} |`),
  '',
  'CPU milliseconds per operation, by process (the gateway with its workers; PostgreSQL with its backends):',
  '',
  `| result | ${cpuColumns.join(' | ')} | total |`,
  `|---|${cpuColumns.map(() => '---:').join('|')}|---:|`,
  ...results.map(
    (r) =>
      `| ${r.name} | ${cpuColumns.map((c) => r.cpu_ms_per_op?.[c] ?? '–').join(' | ')} | ${r.cpu_ms_per_op?.total ?? '–'} |`,
  ),
  '',
].join('\n');
fs.writeFileSync(path.join(outDir, `${SETTINGS.output}.md`), md);
console.log(md);
log(`done in ${Math.round((Date.now() - t0) / 1000)} s; logs in ${path.relative(ROOT, logDir)}`);
