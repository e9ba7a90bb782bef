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
  gateways: env('BENCH_GATEWAYS', 'coursegraph,apollo-server,hive-gateway').split(','),
  workloads: env('BENCH_WORKLOADS', 'catalog,deep,mutation').split(','),
  catalog_page_size: 20,
  learners_signed_in: Number(env('BENCH_LEARNERS', 600)),
  deep_learners: Number(env('BENCH_DEEP_LEARNERS', 200)),
  database: env('BENCH_DATABASE', 'coursegraph_bench_gateway'),
  fresh_database: env('BENCH_KEEP_DATABASE', '') === '',
  variants: env('BENCH_VARIANTS', '1') !== '0',
  output: env('BENCH_OUTPUT', 'gateway'),
  // BENCH_PROFILE=1: the Node gateways write CPU profiles (node --cpu-prof) into the run's log folder.
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
const { checkBuilt, dropDatabase, freePort, startNats } = await import('./lib/platform.mjs');
const { GATEWAYS, rewriteSupergraph, startGateway, versions } = await import('./gateway/gateways.mjs');
const { runLoad } = await import('./gateway/load.mjs');
const W = await import('./gateway/workloads.mjs');

const log = (...args) => console.log('bench:gateway:', ...args);
const DEMO_PASSWORD = 'coursegraph-demo';

checkBuilt();
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
let platform;
try {
  platform = await startPlatform({
    ports,
    database: SETTINGS.database,
    env: {
      NATS_URL: nats.url,
      SEARCH_INDEX_DIR: path.join(runDir, 'search-index'),
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      LOG_LEVEL: SETTINGS.log_level,
      RATE_LIMITS: 'false',
    },
    logDir,
    log: () => {},
  });
} catch (err) {
  // startPlatform stops what it started; the NATS server is ours to stop.
  await nats.dispose();
  throw err;
}
/**
 * What is measured, in order: the three gateways, and (BENCH_VARIANTS, on by default) ours with an
 * optimisation turned off, so each one's effect is measured in the same run; then the cached phase
 * (`+response-cache`: ours and Hive's response caches on, catalog only, since the other workloads
 * are signed-in or mutations, which neither cache serves to others).
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
    what: "@apollo/gateway's default subgraph fetcher, nothing shared: the gateway before its optimisations (subgraph optimisations included)",
  },
  {
    name: 'coursegraph~keep-alive',
    gateway: 'coursegraph',
    tag: 'keep-alive',
    env: { GATEWAY_DEDUPLICATE_QUERIES: 'false', GATEWAY_SHARE_IN_FLIGHT_OPERATIONS: 'false' },
    workloads: ['catalog', 'deep'],
    what: 'plus the keep-alive subgraph client',
  },
  {
    name: 'coursegraph~subgraph-dedup',
    gateway: 'coursegraph',
    tag: 'subgraph-dedup',
    env: { GATEWAY_SHARE_IN_FLIGHT_OPERATIONS: 'false' },
    workloads: ['catalog', 'deep'],
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
  ...(SETTINGS.variants ? VARIANTS.filter((v) => SETTINGS.gateways.includes(v.gateway)) : []),
];
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
  const gatewayEnv = {
    NATS_URL: nats.url,
    IDENTITY_JWKS_URL: `http://127.0.0.1:${ports.identity}/.well-known/jwks.json`,
    RATE_LIMITS: 'false',
  };
  log(`signing in ${SETTINGS.learners_signed_in} learners`);
  const learners = await W.prepareLearners(setupUrl, {
    learners: SETTINGS.learners_signed_in,
    deepLearners: SETTINGS.deep_learners,
    mutationGroups: runs.length,
    password: DEMO_PASSWORD,
  });
  const references = await W.fetchReferences(setupUrl, learners, SETTINGS.catalog_page_size);
  SETTINGS.mutation_items_per_gateway = Math.min(...learners.mutationGroups.map((g) => g.length));
  SETTINGS.deep_learners_with_orders = learners.deepWithOrders;
  // The platform's own gateway served the set-up; the measured ones are started one at a time below.
  await platform.kill('gateway');
  const supergraphFile = rewriteSupergraph(subgraphUrls, path.join(runDir, 'supergraph.graphql'));
  log(
    `ready after ${Math.round((Date.now() - t0) / 1000)} s; ${learners.deep.length} deep learners, ${SETTINGS.mutation_items_per_gateway}+ lessons to complete per gateway`,
  );

  const measure = async (gateway, name, workload, resultName) => {
    await runLoad({
      url: gateway.url,
      workload,
      connections: SETTINGS.connections,
      durationMs: SETTINGS.warmup_s * 1000,
    });
    gateway.resetPeak();
    const figures = await runLoad({
      url: gateway.url,
      workload,
      connections: SETTINGS.connections,
      durationMs: SETTINGS.duration_s * 1000,
    });
    const result = { name: resultName, ...figures, peak_rss_mb: gateway.peakRssMb() };
    log(
      `${resultName}: ${result.rps} rps, p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms, ${result.errors} errors, peak RSS ${result.peak_rss_mb} MB${result.errors ? ` ${JSON.stringify(result.error_reasons)}` : ''}`,
    );
    results.push(result);
  };

  let mutationReference = null;
  for (const [index, run] of runs.entries()) {
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
    agreement[run.name] = { catalog: true, deep_learners: learners.deep.length, mutation: true };
    log(`${run.name}: same answers as the reference (catalog, ${learners.deep.length} deep, the agreement mutation)`);
    const loads = W.workloads(learners, references, SETTINGS.catalog_page_size, learners.mutationGroups[index]);
    // A variant measures only the workloads its change can affect.
    for (const workload of SETTINGS.workloads.filter((w) => !run.workloads || run.workloads.includes(w)))
      await measure(running, run.name, loads[workload], `${run.name}/${workload}`);
    await running.stop();
    running = null;
  }
} finally {
  await running?.stop();
  await platform.stop();
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
  '| workload | ours ÷ apollo-server (rps) | ours ÷ hive-gateway (rps) |',
  '|---|---:|---:|',
  ...SETTINGS.workloads.map((w) => `| ${w} | ${ratio(w, 'apollo-server')} | ${ratio(w, 'hive-gateway')} |`),
  '',
].join('\n');
fs.writeFileSync(path.join(outDir, `${SETTINGS.output}.md`), md);
console.log(md);
log(`done in ${Math.round((Date.now() - t0) / 1000)} s; logs in ${path.relative(ROOT, logDir)}`);
