#!/usr/bin/env node
// Search benchmark (npm run bench:search): the Rust search subgraph's engine (tantivy, release
// build) against PostgreSQL full-text search as the baseline, on the same generated corpus and
// queries, plus the freshness of the running subgraph.
//   (a) corpus: test/bench/search/corpus.mjs, seeded, at least BENCH_SEARCH_DOCS (100,000) courses
//       and lessons, mostly English, some Russian, with planted courses for the labelled queries;
//   (b) tantivy: `search-bench` (src/bin/search-bench.rs) indexes it as the consumer does and runs
//       the queries in process; PostgreSQL: tsvector + GIN, websearch_to_tsquery, ts_rank_cd, in a
//       scratch database (test/bench/search/postgres.mjs). Indexing docs/s; latency p50/p99 over
//       the fixed query set (BENCH_SEARCH_ROUNDS rounds after one warm-up); hit@1/hit@5 over the
//       labelled queries;
//   (c) freshness: courses published through the gateway, each searched for until found
//       (test/bench/search/freshness.mjs).
// Needs PostgreSQL and NATS (node scripts/stack.mjs up), `npm run build` output, and cargo.
// Writes test/bench/results/search.json and search.md.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { LATENCY_QUERIES, generateCorpus, labelledQueries } from './search/corpus.mjs';
import { createBaseline } from './search/postgres.mjs';
import { measureFreshness } from './search/freshness.mjs';
import { percentile } from './lib/measure.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { postgresAdminUrl } = await import('../../scripts/lib/env.mjs');

const SETTINGS = {
  min_docs: Number(process.env.BENCH_SEARCH_DOCS || 100_000),
  seed: Number(process.env.BENCH_SEARCH_SEED || 20260101),
  query_rounds: Number(process.env.BENCH_SEARCH_ROUNDS || 5),
  index_runs: Number(process.env.BENCH_SEARCH_INDEX_RUNS || 3),
  freshness_publishes: Number(process.env.BENCH_FRESHNESS_PUBLISHES || 100),
  freshness_poll_ms: 5,
  page_size: 20,
};
const log = (...args) => console.log('bench:search:', ...args);
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const summary = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(sorted, 50), 2),
    p99_ms: round(percentile(sorted, 99), 2),
    max_ms: round(sorted.at(-1), 2),
  };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sameHit = (a, b) => a && b && a.kind === b.kind && a.id === b.id;
const relevance = (labelled, tops) => {
  let hit1 = 0;
  let hit5 = 0;
  const misses1 = [];
  const misses5 = [];
  labelled.forEach((q, i) => {
    const top = tops[i];
    if (sameHit(top[0], q.expect)) hit1++;
    else misses1.push(q.query);
    if (top.some((t) => sameHit(t, q.expect))) hit5++;
    else misses5.push(q.query);
  });
  return {
    hit_at_1: round(hit1 / labelled.length, 3),
    hit_at_5: round(hit5 / labelled.length, 3),
    misses_at_1: misses1,
    misses_at_5: misses5,
  };
};

// (0) The release build of the search crate: the benchmark binary and the subgraph.
log('building the search crate (release): cargo build --release -p coursegraph-search --bins');
const build = spawnSync('cargo', ['build', '--release', '-p', 'coursegraph-search', '--bins'], {
  cwd: path.join(ROOT, 'rust-subgraphs'),
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(1);
const RELEASE = path.join(ROOT, 'rust-subgraphs/target/release');

// (a) The corpus and the queries.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-search-'));
try {
  const started = Date.now();
  const { courses, docs, planted } = generateCorpus({ minDocs: SETTINGS.min_docs, seed: SETTINGS.seed });
  const labelled = labelledQueries(planted);
  const queries = [...LATENCY_QUERIES, ...labelled];
  const corpusPath = path.join(scratch, 'corpus.jsonl');
  fs.writeFileSync(corpusPath, courses.map((c) => JSON.stringify(c)).join('\n'));
  fs.writeFileSync(
    path.join(scratch, 'queries.json'),
    JSON.stringify(queries.map(({ query, filter }) => ({ query, filter }))),
  );
  const russian = courses.filter((c) => c.language === 'ru').length;
  log(
    `(a) corpus: ${courses.length} courses, ${docs} documents (${russian} Russian courses), ${round(fs.statSync(corpusPath).size / 2 ** 20)} MB, in ${Date.now() - started} ms; ${LATENCY_QUERIES.length} latency queries, ${labelled.length} labelled`,
  );

  // (b1) tantivy.
  log(
    `(b) tantivy: ${SETTINGS.index_runs} indexing runs and ${SETTINGS.query_rounds} query rounds (search-bench, release)`,
  );
  const tantivyOut = execFileSync(
    path.join(RELEASE, 'search-bench'),
    [
      corpusPath,
      path.join(scratch, 'queries.json'),
      path.join(scratch, 'index'),
      String(SETTINGS.query_rounds),
      String(SETTINGS.index_runs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 },
  );
  const tantivy = JSON.parse(tantivyOut.toString());
  const tantivyLatency = summary(tantivy.queries.slice(0, LATENCY_QUERIES.length).flatMap((q) => q.samples_ms));
  const tantivyRelevance = relevance(
    labelled,
    tantivy.queries.slice(LATENCY_QUERIES.length).map((q) => q.top),
  );
  log(
    `(b) tantivy: ${tantivy.docs} docs at ${Math.round(tantivy.index_docs_per_s)} docs/s; p50 ${tantivyLatency.p50_ms} ms, p99 ${tantivyLatency.p99_ms} ms; hit@1 ${tantivyRelevance.hit_at_1}, hit@5 ${tantivyRelevance.hit_at_5}`,
  );

  // (b2) PostgreSQL.
  const baseline = await createBaseline({ adminUrl: postgresAdminUrl(), database: 'coursegraph_bench_search' });
  let postgres;
  try {
    const loads = [];
    for (let run = 1; run <= SETTINGS.index_runs; run++) {
      log(
        `(b) postgres: loading the corpus (tsvector + GIN) into database coursegraph_bench_search, run ${run}/${SETTINGS.index_runs}`,
      );
      loads.push(await baseline.load(courses, log));
      log(`(b) postgres: run ${run}: ${loads.at(-1).docs} docs in ${Math.round(loads.at(-1).index_ms)} ms`);
    }
    const loaded = {
      docs: loads[0].docs,
      index_ms: median(loads.map((l) => l.index_ms)),
      runs: loads.map((l) => Math.round(l.index_ms)),
    };
    log('(b) postgres: querying');
    const tops = [];
    for (const q of queries) tops.push((await baseline.search(q)).top); // warm-up, and the top hits
    const samples = [];
    for (let r = 0; r < SETTINGS.query_rounds; r++) {
      for (const q of LATENCY_QUERIES) samples.push((await baseline.search(q)).ms);
      log(`(b) postgres: query round ${r + 1}/${SETTINGS.query_rounds}`);
    }
    postgres = {
      docs: loaded.docs,
      index_ms: loaded.index_ms,
      index_ms_runs: loaded.runs,
      latency: summary(samples),
      relevance: relevance(labelled, tops.slice(LATENCY_QUERIES.length)),
    };
    log(
      `(b) postgres: ${Math.round(loaded.docs / (loaded.index_ms / 1000))} docs/s; p50 ${postgres.latency.p50_ms} ms, p99 ${postgres.latency.p99_ms} ms; hit@1 ${postgres.relevance.hit_at_1}, hit@5 ${postgres.relevance.hit_at_5}`,
    );
  } finally {
    await baseline.drop();
  }

  // (c) Freshness.
  const binary = process.env.BENCH_SEARCH_BINARY
    ? path.resolve(process.env.BENCH_SEARCH_BINARY)
    : path.join(RELEASE, 'coursegraph-search');
  log(
    `(c) freshness: ${SETTINGS.freshness_publishes} courses published through the gateway, each searched for every ${SETTINGS.freshness_poll_ms} ms until found`,
  );
  const fresh = await measureFreshness({
    publishes: SETTINGS.freshness_publishes,
    pollMs: SETTINGS.freshness_poll_ms,
    binary,
    log,
  });
  const freshness = summary(fresh.latencies);
  log(`(c) freshness: p50 ${freshness.p50_ms} ms, p99 ${freshness.p99_ms} ms, max ${freshness.max_ms} ms`);

  // Results.
  const admin = new pg.Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  const pgVersion = (await admin.query('show server_version')).rows[0].server_version;
  await admin.end();
  const cpus = os.cpus();
  const report = {
    benchmark: 'search',
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model ?? 'unknown',
      memory_gb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: {
      ...SETTINGS,
      courses: courses.length,
      russian_courses: russian,
      latency_queries: LATENCY_QUERIES.length,
      labelled_queries: labelled.length,
      postgres: pgVersion,
      tantivy_build:
        'release, in process (search-bench); one indexing thread, 50 MB writer budget, commit every 10,000 courses',
      index_figure: `median of ${SETTINGS.index_runs} runs per engine`,
      postgres_query:
        "websearch_to_tsquery('english') || websearch_to_tsquery('russian'), ts_rank_cd, top 20 + total count, over loopback",
      freshness_binary: path.relative(ROOT, binary),
    },
    results: [
      {
        name: 'tantivy',
        docs: tantivy.docs,
        index_docs_per_s: Math.round(tantivy.index_docs_per_s),
        index_ms: Math.round(tantivy.index_ms),
        index_ms_runs: tantivy.index_ms_runs.map(Math.round),
        ...tantivyLatency,
        hit_at_1: tantivyRelevance.hit_at_1,
        hit_at_5: tantivyRelevance.hit_at_5,
        misses_at_1: tantivyRelevance.misses_at_1,
        misses_at_5: tantivyRelevance.misses_at_5,
        index_ratio_to_postgres: round(tantivy.docs / tantivy.index_ms / (postgres.docs / postgres.index_ms), 2),
        p50_ratio_to_postgres: round(tantivyLatency.p50_ms / postgres.latency.p50_ms, 2),
        p99_ratio_to_postgres: round(tantivyLatency.p99_ms / postgres.latency.p99_ms, 2),
        note: 'search as the subgraph answers it: top 20, total count, facets, snippets',
      },
      {
        name: 'postgres-fts',
        docs: postgres.docs,
        index_docs_per_s: Math.round(postgres.docs / (postgres.index_ms / 1000)),
        index_ms: Math.round(postgres.index_ms),
        index_ms_runs: postgres.index_ms_runs,
        ...postgres.latency,
        hit_at_1: postgres.relevance.hit_at_1,
        hit_at_5: postgres.relevance.hit_at_5,
        misses_at_1: postgres.relevance.misses_at_1,
        misses_at_5: postgres.relevance.misses_at_5,
        note: 'top 20 by ts_rank_cd and total count; load = inserts computing the tsvector, then the GIN index',
      },
      {
        name: 'freshness',
        ...freshness,
        samples: fresh.latencies.length,
        publish_mutation_p50_ms: summary(fresh.mutationMs).p50_ms,
        note: 'publishCourse response through the gateway -> first search on the subgraph that returns the course',
      },
    ],
  };
  const dir = path.join(ROOT, 'test/bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'search.json'), `${JSON.stringify(report, null, 2)}\n`);
  const [t, p, f] = report.results;
  const md = [
    `# Benchmark: search (${report.date.slice(0, 10)})`,
    '',
    `Machine: ${report.machine.cpus} × ${report.machine.model}, ${report.machine.memory_gb} GB, Node ${report.machine.node}; PostgreSQL ${pgVersion}.`,
    `Corpus: ${courses.length} generated courses, ${t.docs} courses and lessons (${russian} courses in Russian), seed ${SETTINGS.seed}. Indexing: median of ${SETTINGS.index_runs} runs. Latency: ${LATENCY_QUERIES.length} queries (typos, prefixes, facet filters, multi-word, Russian) × ${SETTINGS.query_rounds} rounds after a warm-up. Relevance: ${labelled.length} labelled queries.`,
    '',
    '| engine | docs | index docs/s | p50 ms | p99 ms | hit@1 | hit@5 |',
    '|---|---:|---:|---:|---:|---:|---:|',
    `| tantivy (search subgraph engine, release) | ${t.docs} | ${t.index_docs_per_s} | ${t.p50_ms} | ${t.p99_ms} | ${t.hit_at_1} | ${t.hit_at_5} |`,
    `| postgres-fts (tsvector + GIN, baseline) | ${p.docs} | ${p.index_docs_per_s} | ${p.p50_ms} | ${p.p99_ms} | ${p.hit_at_1} | ${p.hit_at_5} |`,
    '',
    `Same run, tantivy / PostgreSQL: indexing ${t.index_ratio_to_postgres}× the docs/s, p50 ${t.p50_ratio_to_postgres}×, p99 ${t.p99_ratio_to_postgres}× the latency.`,
    '',
    `Freshness (published through the gateway → found by search), ${f.samples} courses: p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, max ${f.max_ms} ms.`,
    '',
    `tantivy latency is in process (what the subgraph does per query: top 20, count, facets, snippets); PostgreSQL's includes a loopback round trip and computes no facets or snippets.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'search.md'), md);
  log(`wrote test/bench/results/search.json and search.md\n${md}`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
