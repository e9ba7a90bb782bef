// Freshness of the search index: how long after a course is published through the course
// subgraph's GraphQL mutation (through the gateway) a search query finds it. The whole path runs:
// the outbox row committed with the publication, the relay (woken by NOTIFY), NATS JetStream,
// the search subgraph's durable consumer, the tantivy commit and reader reload.
//
// A platform of its own: every process started by scripts/lib/platform.mjs on free ports, on a
// scratch database (dropped at the end), a nats-server of its own and a fresh index folder. The
// search subgraph is then restarted from `binary` (the release build by default), so the figure is
// that of the build a deployment runs.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../../../scripts/lib/env.mjs';
import { startBenchPlatform, userWithRole } from '../lib/platform.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function post(url, query, variables, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

/** A word no generated text has: letters only, so it is one token. */
const probeWord = (i) => `freshprobe${[...String(i).padStart(4, '0')].map((d) => 'abcdefghij'[Number(d)]).join('')}`;

/**
 * Publishes `publishes` courses one after another and measures, for each, the time from the
 * publishCourse response to the first search (polled every `pollMs` on the search subgraph) that
 * returns it. Returns the latency samples (ms) and the mutation's own round trips.
 */
export async function measureFreshness({ publishes, pollMs, binary, log }) {
  const database = 'coursegraph_bench_search_freshness';
  log(`freshness: starting a platform on database ${database}`);
  const platform = await startBenchPlatform({
    database,
    env: { LOG_LEVEL: 'warn' },
    logDir: path.join(ROOT, '.data/bench-logs', `search-freshness-${Date.now()}`),
  });
  let search;
  try {
    log(`freshness: platform up; search subgraph from ${path.relative(ROOT, binary)}`);
    await platform.kill('search', 'SIGTERM');
    search = spawn(binary, [], {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        NATS_URL: platform.natsUrl,
        SEARCH_INDEX_DIR: platform.searchIndexDir,
        SEARCH_PORT: String(platform.ports.search),
        SEARCH_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const searchUrl = `http://127.0.0.1:${platform.ports.search}`;
    await waitFor('the search subgraph', async () => (await fetch(`${searchUrl}/readyz`)).ok);

    const gateway = platform.endpoint;
    const { token } = await userWithRole(gateway, database, 'INSTRUCTOR', 'freshness');
    const must = (res, field) => {
      if (!res.data?.[field]) throw new Error(`${field} failed: ${JSON.stringify(res.errors)}`);
      return res.data[field];
    };

    const latencies = [];
    const mutationMs = [];
    const searchQuery = 'query($q: String!) { search(query: $q, first: 5) { edges { node { kind course { id } } } } }';
    for (let i = 0; i < publishes; i++) {
      const word = probeWord(i);
      const course = must(
        await post(
          gateway,
          'mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }',
          {
            i: {
              title: `Freshness ${word}`,
              category: 'programming',
              level: 'BEGINNER',
              language: 'en',
              summary: 'A course published to measure search freshness.',
              price: { amountMinor: 0, currency: 'USD' },
            },
          },
          token,
        ),
        'createCourse',
      );
      const mod = must(
        await post(
          gateway,
          'mutation($i: AddModuleInput!) { addModule(input: $i) { id } }',
          { i: { courseId: course.id, title: 'Basics' } },
          token,
        ),
        'addModule',
      );
      must(
        await post(
          gateway,
          'mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }',
          { i: { moduleId: mod.id, title: 'First lesson', kind: 'ARTICLE', body: 'Text of the first lesson.' } },
          token,
        ),
        'addLesson',
      );
      const sent = performance.now();
      must(
        await post(gateway, 'mutation($c: ID!) { publishCourse(courseId: $c) { id status } }', { c: course.id }, token),
        'publishCourse',
      );
      const published = performance.now();
      mutationMs.push(published - sent);
      const deadline = published + 30_000;
      for (;;) {
        const res = await post(`${searchUrl}/graphql`, searchQuery, { q: word });
        if (res.data?.search.edges.some((e) => e.node.kind === 'COURSE' && e.node.course.id === course.id)) break;
        if (performance.now() > deadline) throw new Error(`course ${course.id} not searchable after 30 s`);
        await sleep(pollMs);
      }
      latencies.push(performance.now() - published);
      if ((i + 1) % 20 === 0) log(`freshness: ${i + 1}/${publishes} published and found`);
    }
    return { latencies, mutationMs };
  } finally {
    if (search && search.exitCode === null) {
      const exited = new Promise((resolve) => search.once('exit', resolve));
      search.kill('SIGTERM');
      await exited;
    }
    await platform.stop();
  }
}
