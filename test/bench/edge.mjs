#!/usr/bin/env node
// Edge protection benchmark (npm run bench:edge): what the operation limits and rate limits cost
// the catalog workload, and how normal traffic fares while a hostile mix runs beside it.
// Starts a platform of its own (database coursegraph_bench_edge seeded with the demo catalog, a NATS
// server, Redis database 4, free ports), builds about 220 distinct anonymous read operations with
// their reference answers, then measures in one run, alternating because the machine is noisy:
//   limits-off    OPERATION_LIMITS=false and RATE_LIMITS=false in the gateway and every subgraph
//   limits-on     the defaults: operation limits and rate limits on
//   under-attack  the limits-on platform, with the hostile mix (test/bench/lib/edge-hostile.mjs) sent
//                 from a separate process during the whole round
// Normal traffic comes from BENCH_CLIENT_IPS client addresses and the hostile mix from others, all
// through X-Forwarded-For with GATEWAY_TRUSTED_PROXIES=127.0.0.1, so per-IP limits tell them apart.
// Needs `npm run build`, `cargo build --bins` in rust-subgraphs and the stack (node scripts/stack.mjs up).
// Writes test/bench/results/edge.json and edge.md.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withRedisPassword } from '../../scripts/lib/credentials.mjs';
import { ROOT } from '../../scripts/lib/env.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  connections: Number(env('BENCH_CONNECTIONS', 50)),
  warmup_s: Number(env('BENCH_WARMUP_S', 3)),
  duration_s: Number(env('BENCH_DURATION_S', 15)),
  rounds: Number(env('BENCH_ROUNDS', 4)),
  attack_rounds: Number(env('BENCH_ATTACK_ROUNDS', 2)),
  hostile_connections: Number(env('BENCH_HOSTILE_CONNECTIONS', 8)),
  client_ips: Number(env('BENCH_CLIENT_IPS', 500)),
  database: env('BENCH_DATABASE', 'coursegraph_bench_edge'),
  fresh_database: env('BENCH_KEEP_DATABASE', '') === '',
  redis_url: env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379/4'),
  log_level: 'warn',
  load_generator:
    'in-process node:http keep-alive loop (one connection = one request in flight); the hostile mix from a child process',
  share_in_flight_operations:
    'default (on): the operations (about 220) are cycled in a shuffled order, so 50 connections rarely have the same one in flight at once',
  response_cache: 'off (the default)',
  demo_data:
    'the demo catalog (seedCatalog: 20 instructors, 2,000 learners, 200 courses); no demo activity, so enrollment counts are 0',
};
// The platform's processes read these; set before the scripts that read them are imported.
process.env.POSTGRES_DB = SETTINGS.database;
process.env.REDIS_URL = SETTINGS.redis_url;
process.env.LOG_LEVEL = SETTINGS.log_level;

const { bootstrap, deploy } = await import('../../scripts/prisma.mjs');
const { seedCatalog } = await import('../../scripts/seed.mjs');
const { startPlatform, subgraphList } = await import('../../scripts/lib/platform.mjs');
const { checkBuilt, dropDatabase, freePort, startNats } = await import('./lib/platform.mjs');
const { treeCpuSeconds } = await import('./lib/measure.mjs');
const { runLoad } = await import('./gateway/load.mjs');
const { buildOperations, fetchReferences, normalWorkload } = await import('./lib/edge-workload.mjs');
const { measureChecks } = await import('./lib/edge-checks.mjs');
const { gql } = await import('./gateway/workloads.mjs');
const { default: Redis } = await import('ioredis');

const log = (...args) => console.log('bench:edge:', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The settings of each mode, for the gateway and every subgraph alike. */
const MODES = {
  'limits-off': { OPERATION_LIMITS: 'false', RATE_LIMITS: 'false' },
  'limits-on': { OPERATION_LIMITS: 'true', RATE_LIMITS: 'true' },
};
const COMMON_ENV = { GATEWAY_TRUSTED_PROXIES: '127.0.0.1', LOG_LEVEL: SETTINGS.log_level };

checkBuilt();
const t0 = Date.now();
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-edge-'));
const logDir = path.join(ROOT, '.data/bench-logs', `edge-${Date.now()}`);
fs.mkdirSync(logDir, { recursive: true });
const redis = new Redis(withRedisPassword(SETTINGS.redis_url), { lazyConnect: true });
await redis.connect();

if (SETTINGS.fresh_database) await dropDatabase(SETTINGS.database);
await bootstrap({ database: SETTINGS.database });
deploy({ quiet: true, database: SETTINGS.database });
log('demo catalog');
await seedCatalog();
await redis.flushdb();

const nats = await startNats();
const names = ['gateway', ...subgraphList().map((s) => s.name)];
const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
let mode = 'limits-off';
let platform;
try {
  platform = await startPlatform({
    ports,
    database: SETTINGS.database,
    env: { NATS_URL: nats.url, SEARCH_INDEX_DIR: path.join(runDir, 'search-index'), ...COMMON_ENV, ...MODES[mode] },
    logDir,
    log: () => {},
  });
} catch (err) {
  await nats.dispose();
  throw err;
}
const endpoint = `${platform.gatewayUrl}/graphql`;

/** Restarts every process with `next`'s settings (subgraphs together, then the gateway). */
async function switchTo(next) {
  if (next === mode) return;
  log(`switching to ${next}`);
  await Promise.all(subgraphList().map((s) => platform.restart(s.name, { signal: 'SIGTERM', env: MODES[next] })));
  await platform.restart('gateway', { signal: 'SIGTERM', env: MODES[next] });
  mode = next;
}

/** CPU seconds so far of the gateway, each subgraph and this process (the load generator). */
function cpuNow() {
  const usage = process.cpuUsage();
  return {
    ...Object.fromEntries(names.map((n) => [n, treeCpuSeconds(platform.pid(n))])),
    load_generator: (usage.user + usage.system) / 1e6,
  };
}

/** Runs the hostile mix in a child process for `ms`; resolves with its tally. */
function hostile(ms) {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'test/bench/lib/edge-hostile.mjs'), endpoint, String(ms), String(SETTINGS.hostile_connections)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the hostile process exited with ${code}`)),
    ),
  );
}

const rounds = [];
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round2 = (x) => Math.round(x * 100) / 100;

let ops;
let references;
let checks;
try {
  ops = await buildOperations(endpoint);
  // The search index fills from the course stream after start: references count once two fetches agree.
  const deadline = Date.now() + 120_000;
  references = await fetchReferences(endpoint, ops);
  for (;;) {
    await sleep(2_000);
    const again = await fetchReferences(endpoint, ops);
    if (again.every((r, i) => r === references[i])) break;
    if (Date.now() > deadline) throw new Error('the reference answers kept changing for 2 minutes');
    references = again;
  }
  SETTINGS.operations = ops.length;
  SETTINGS.operations_by_kind = ops.reduce((acc, op) => ({ ...acc, [op.kind]: (acc[op.kind] ?? 0) + 1 }), {});
  log(
    `ready after ${Math.round((Date.now() - t0) / 1000)} s: ${ops.length} operations ${JSON.stringify(SETTINGS.operations_by_kind)}`,
  );
  const workload = normalWorkload(ops, references, { clientIps: SETTINGS.client_ips });
  checks = await measureChecks({ ops, redisUrl: SETTINGS.redis_url });
  log(`the checks in process: ${JSON.stringify(checks)}`);

  /**
   * Waits until the gateway reports every subgraph ready with its circuit closed, so a breaker
   * opened in one round (an overloaded subgraph timing out) does not fail the next round's requests.
   */
  const probes = ['catalog', 'course', 'search'].map((kind) => ops.findIndex((op) => op.kind === kind));
  const settle = async () => {
    const until = Date.now() + 60_000;
    const readyz = async () => {
      const res = await fetch(`${platform.gatewayUrl}/readyz`).catch(() => null);
      return res ? res.json().catch(() => null) : null;
    };
    const circuits = (body) => Object.values(body?.subgraphs ?? {}).map((s) => s.circuit ?? 'closed');
    for (;;) {
      const body = await readyz();
      if (body?.status === 'ready' && !circuits(body).includes('open')) {
        // A half-open circuit closes on its next successful call: these are those calls.
        const answers = await Promise.all(probes.map((i) => gql(endpoint, ops[i].query, ops[i].variables)));
        const right = answers.every((a, j) => JSON.stringify(a.body.data) === references[probes[j]] && !a.body.errors);
        if (right && circuits(await readyz()).every((c) => c === 'closed')) return;
      }
      if (Date.now() > until) return log(`not settled after 60 s: ${JSON.stringify(body)}`);
      await sleep(500);
    }
  };

  const measure = async (name, index, { attack = false } = {}) => {
    await switchTo(attack ? 'limits-on' : name);
    await settle();
    // Rate-limit windows start empty in every round.
    await redis.flushdb();
    const pidsBefore = Object.fromEntries(names.map((n) => [n, platform.pid(n)]));
    const restartsBefore = platform.restarts();
    const attackRun = attack ? hostile((SETTINGS.warmup_s + SETTINGS.duration_s) * 1000 + 500) : null;
    await runLoad({ url: endpoint, workload, connections: SETTINGS.connections, durationMs: SETTINGS.warmup_s * 1000 });
    const cpuBefore = cpuNow();
    const figures = await runLoad({
      url: endpoint,
      workload,
      connections: SETTINGS.connections,
      durationMs: SETTINGS.duration_s * 1000,
    });
    const cpuAfter = cpuNow();
    const row = {
      name,
      round: index + 1,
      rps: figures.rps,
      p50_ms: figures.p50_ms,
      p95_ms: figures.p95_ms,
      p99_ms: figures.p99_ms,
      errors: figures.errors,
      requests: figures.requests,
    };
    for (const n of Object.keys(cpuBefore))
      row[`cpu_ms_per_op_${n.replace(/-/g, '_')}`] = round2(
        ((cpuAfter[n] - cpuBefore[n]) * 1000) / Math.max(1, figures.requests),
      );
    if (figures.errors) row.error_reasons = figures.error_reasons;
    if (attackRun) {
      const tally = await attackRun;
      const after = platform.restarts();
      const pidChanges = names.filter((n) => platform.pid(n) !== pidsBefore[n]).length;
      Object.assign(row, {
        hostile_sent: tally.sent,
        hostile_refused: tally.refused,
        hostile_refused_share: round2(tally.refused / Math.max(1, tally.sent)),
        // The supervisor's count, or processes whose pid changed, whichever saw more.
        restarts: Math.max(
          names.reduce((sum, n) => sum + (after[n] - restartsBefore[n]), 0),
          pidChanges,
        ),
        hostile_by_kind: tally.by_kind,
      });
    }
    log(
      `${name} #${index + 1}: ${row.rps} rps, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, ${row.errors} errors${row.error_reasons ? ` ${JSON.stringify(row.error_reasons)}` : ''}, gateway ${row.cpu_ms_per_op_gateway} ms CPU/op${attack ? `; hostile ${row.hostile_refused}/${row.hostile_sent} refused, ${row.restarts} restarts` : ''}`,
    );
    rounds.push(row);
  };

  // Alternating, and in turn first and second, so slow drifts of the machine's load and whatever a
  // restart leaves behind hit both modes alike; the attack rounds run on the limits-on platform,
  // right after a limits-on round.
  for (let i = 0; i < SETTINGS.rounds; i++) {
    const order = i % 2 === 0 ? ['limits-off', 'limits-on'] : ['limits-on', 'limits-off'];
    for (const name of order) {
      await measure(name, i);
      if (name === 'limits-on' && i < SETTINGS.attack_rounds) await measure('under-attack', i, { attack: true });
    }
  }
} finally {
  await platform.stop();
  await nats.dispose();
  await redis.quit();
  fs.rmSync(runDir, { recursive: true, force: true });
}

/** One result per mode: medians over its rounds (errors and restarts summed). */
const results = ['limits-off', 'limits-on', 'under-attack'].flatMap((name) => {
  const rows = rounds.filter((r) => r.name === name);
  if (!rows.length) return [];
  const result = { name, rounds: rows.length };
  for (const key of Object.keys(rows[0])) {
    if (['name', 'round', 'error_reasons', 'hostile_by_kind', 'hostile_refused_share'].includes(key)) continue;
    result[key] = ['errors', 'requests', 'hostile_sent', 'hostile_refused', 'restarts'].includes(key)
      ? rows.reduce((s, r) => s + r[key], 0)
      : round2(median(rows.map((r) => r[key])));
  }
  if (result.hostile_sent !== undefined)
    result.hostile_refused_share = round2(result.hostile_refused / Math.max(1, result.hostile_sent));
  return [result];
});
const off = results.find((r) => r.name === 'limits-off');
const on = results.find((r) => r.name === 'limits-on');
const attack = results.find((r) => r.name === 'under-attack');
// What the platform spends per operation with the limits off (every process), against which the
// checks' own cost (measured in process) is set.
const platformCpuMsPerOp = off
  ? round2(
      Object.entries(off)
        .filter(([k]) => k.startsWith('cpu_ms_per_op_') && !k.endsWith('load_generator'))
        .reduce((sum, [, v]) => sum + v, 0),
    )
  : null;
const checksUsPerRequest = checks ? round2(checks.operation_limits_repeat_us + checks.rate_limit_draw_cpu_us) : null;
const spread = (name) => {
  const rps = rounds.filter((r) => r.name === name).map((r) => r.rps);
  return rps.length ? { min: Math.min(...rps), max: Math.max(...rps) } : null;
};
const comparison = {
  limits_cost_pct: off && on ? round2((1 - on.rps / off.rps) * 100) : null,
  rps_spread_limits_off: spread('limits-off'),
  rps_spread_limits_on: spread('limits-on'),
  checks_in_process: checks ?? null,
  checks_us_per_request_at_gateway: checksUsPerRequest,
  platform_cpu_ms_per_op_limits_off: platformCpuMsPerOp,
  checks_share_of_platform_cpu_pct:
    checksUsPerRequest !== null && platformCpuMsPerOp
      ? round2((checksUsPerRequest / 1000 / platformCpuMsPerOp) * 100)
      : null,
  limits_cost_target_pct: 5,
  under_attack_rps_share_of_limits_on_pct: attack && on ? round2((attack.rps / on.rps) * 100) : null,
  under_attack_target_pct: 80,
};

const git = (...args) => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};
const cpus = os.cpus();
const report = {
  benchmark: 'edge',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus.length,
    model: cpus[0]?.model.trim(),
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadavg_at_end: os.loadavg().map(round2),
  },
  settings: {
    ...SETTINGS,
    modes: MODES,
    common_env: COMMON_ENV,
    rate_limits:
      'off in limits-off; defaults in limits-on and under-attack (RATE_LIMIT_IP_PER_MINUTE 1200: normal traffic is spread over BENCH_CLIENT_IPS addresses, so each sends well under it)',
    hostile_mix:
      'deep-40 (catalog→instructor→taughtCourses ×40), aliases-2000 and aliases-40 of catalog(first: 50), cycle-20 (Lesson.module→Module.lessons), cost-heavy (first: 100 with nested lists), huge-tokens (30,000 tokens), each from 64 addresses; a logIn flood (wrong passwords) from 4 addresses, twice as often',
    git_commit: git('rev-parse', '--short', 'HEAD'),
    uncommitted_changes_in:
      git('status', '--porcelain', '--', 'gateway/src', 'subgraphs', 'packages', 'rust-subgraphs/search/src')
        ?.split('\n')
        .filter(Boolean)
        .map((l) => l.slice(3)) ?? [],
    comparison,
    duration_total_s: Math.round((Date.now() - t0) / 1000),
  },
  results,
  rounds,
};
const outDir = path.join(ROOT, 'test/bench/results');
fs.writeFileSync(path.join(outDir, 'edge.json'), `${JSON.stringify(report, null, 2)}\n`);

const cpuKeys = Object.keys(results[0] ?? {}).filter((k) => k.startsWith('cpu_ms_per_op_'));
const dash = (v) => (v === undefined || v === null ? '–' : v);
const md = [
  `# Edge benchmark (${report.date.slice(0, 10)})`,
  '',
  `${report.machine.cpus} × ${report.machine.model}, ${report.machine.memory_gb} GB, Node ${report.machine.node}. ${SETTINGS.connections} connections, ${ops?.length ?? '?'} distinct anonymous operations, ${SETTINGS.warmup_s} s warm-up + ${SETTINGS.duration_s} s per round; medians of ${SETTINGS.rounds} alternating rounds (under-attack: ${SETTINGS.attack_rounds}); every answer checked against its reference.`,
  '',
  '| result | rps | p50 ms | p99 ms | errors | hostile refused | restarts |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...results.map(
    (r) =>
      `| ${r.name} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} | ${r.hostile_sent !== undefined ? `${r.hostile_refused} / ${r.hostile_sent} (${Math.round(r.hostile_refused_share * 100)} %)` : '–'} | ${dash(r.restarts)} |`,
  ),
  '',
  `Limits cost ${dash(comparison.limits_cost_pct)} % of throughput (target < 5 %); under attack, normal traffic kept ${dash(comparison.under_attack_rps_share_of_limits_on_pct)} % of the limits-on throughput (target ≥ 80 %, no errors). Round to round, limits-off ranged ${dash(comparison.rps_spread_limits_off?.min)}–${dash(comparison.rps_spread_limits_off?.max)} rps and limits-on ${dash(comparison.rps_spread_limits_on?.min)}–${dash(comparison.rps_spread_limits_on?.max)} rps.`,
  '',
  ...(checks
    ? [
        `The checks themselves, measured in process on the same operations: operation limits ${checks.operation_limits_repeat_us} µs of CPU per request (${checks.operation_limits_first_sight_us} µs the first time a document is seen: parse, shape and cost), one rate-limit draw ${checks.rate_limit_draw_cpu_us} µs of gateway CPU (round trip ${checks.rate_limit_draw_round_trip_us} µs): ${dash(comparison.checks_us_per_request_at_gateway)} µs per request at the gateway, ${dash(comparison.checks_share_of_platform_cpu_pct)} % of the ${dash(comparison.platform_cpu_ms_per_op_limits_off)} ms of CPU all processes spend per operation with the limits off. Each subgraph runs the same operation-limit analysis on its own (smaller) fetches.`,
      ]
    : []),
  '',
  'CPU per normal operation (ms; under attack it includes serving the hostile mix):',
  '',
  `| result | ${cpuKeys.map((k) => k.replace('cpu_ms_per_op_', '')).join(' | ')} |`,
  `|---|${cpuKeys.map(() => '---:').join('|')}|`,
  ...results.map((r) => `| ${r.name} | ${cpuKeys.map((k) => r[k]).join(' | ')} |`),
  '',
  'Rounds:',
  '',
  '| round | rps | p50 ms | p99 ms | errors | hostile refused |',
  '|---|---:|---:|---:|---:|---:|',
  ...rounds.map(
    (r) =>
      `| ${r.name} #${r.round} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} | ${r.hostile_sent !== undefined ? `${r.hostile_refused} / ${r.hostile_sent}` : '–'} |`,
  ),
  '',
  ...(attack
    ? [
        'How the hostile requests were answered (all rounds):',
        '',
        '| kind | sent | refused | answers |',
        '|---|---:|---:|---|',
        ...Object.entries(
          rounds
            .filter((r) => r.hostile_by_kind)
            .reduce((acc, r) => {
              for (const [kind, t] of Object.entries(r.hostile_by_kind)) {
                const a = (acc[kind] ??= { sent: 0, refused: 0, reasons: {} });
                a.sent += t.sent;
                a.refused += t.refused;
                for (const [reason, n] of Object.entries(t.reasons)) a.reasons[reason] = (a.reasons[reason] ?? 0) + n;
              }
              return acc;
            }, {}),
        ).map(
          ([kind, t]) =>
            `| ${kind} | ${t.sent} | ${t.refused} | ${Object.entries(t.reasons)
              .sort((a, b) => b[1] - a[1])
              .map(([reason, n]) => `${reason} ${n}`)
              .join(', ')} |`,
        ),
        '',
      ]
    : []),
];
fs.writeFileSync(path.join(outDir, 'edge.md'), `${md.join('\n')}\n`);
log(`wrote test/bench/results/edge.json and edge.md in ${Math.round((Date.now() - t0) / 1000)} s`);
log(JSON.stringify(comparison));
