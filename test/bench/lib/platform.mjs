// The platform a benchmark measures: a database of the benchmark's own, a NATS server of its own and
// every process on free ports. Never touches `npm start`'s or the tests' database, ports or streams,
// so a benchmark can run beside them. Shared by every benchmark under test/bench/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { withNatsUser } from '../../../scripts/lib/credentials.mjs';
import { ROOT, postgresAdminUrl } from '../../../scripts/lib/env.mjs';
import { writeNatsConfig } from '../../../scripts/lib/nats-config.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const accepts = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/**
 * A JetStream server of the run's own, so the platform's durable consumers never meet `npm start`'s;
 * with the users and permissions of every local NATS (scripts/lib/nats-config.mjs). `url` is the
 * `operator` user's (startPlatform gives each service its own); nats.js connects with
 * `connect(natsConnectOptions(url))` from the service kit.
 */
export async function startNats() {
  const port = await freePort();
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-nats-'));
  const config = writeNatsConfig(`${storeDir}.conf`, { port, storeDir });
  const server = spawn('nats-server', ['-c', config], { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`nats-server did not start on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: withNatsUser(`nats://127.0.0.1:${port}`, 'operator'),
    pid: server.pid,
    async dispose() {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(storeDir, { recursive: true, force: true });
      fs.rmSync(config, { force: true });
    },
  };
}

/**
 * Drops the benchmark's database so every run starts from the same demo data: the mutation workload
 * completes lessons, and a second run on the same rows would measure only idempotent repeats.
 */
export async function dropDatabase(database) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: postgresAdminUrl() });
  await admin.connect();
  try {
    await admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    await admin.query(`drop database if exists "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

/** Built output every process needs; the benchmark measures what `npm run build` produced. */
export function checkBuilt() {
  const { subgraphs } = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/subgraphs.json'), 'utf8'));
  const needed = ['gateway/dist/main.js', ...Object.values(subgraphs).map((s) => s.main ?? s.binary)];
  const missing = needed.filter((file) => !fs.existsSync(path.join(ROOT, file)));
  if (missing.length)
    throw new Error(`missing ${missing.join(', ')}: run npm run build (and cargo build --bins in rust-subgraphs)`);
}

/**
 * Every subgraph and the gateway on free ports, over `database` (dropped and created afresh) and a
 * NATS server of its own; `stop()` ends it all and drops the database. `pid(name)` is a process id.
 */
export async function startBenchPlatform({ database, env = {}, logDir, log = () => {} }) {
  const { bootstrap, deploy } = await import('../../../scripts/prisma.mjs');
  const { startPlatform, subgraphList } = await import('../../../scripts/lib/platform.mjs');
  checkBuilt();
  await dropDatabase(database);
  await bootstrap({ database });
  deploy({ quiet: true, database });
  const nats = await startNats();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-platform-'));
  const names = ['gateway', ...subgraphList().map((s) => s.name)];
  const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
  let platform;
  try {
    platform = await startPlatform({
      ports,
      database,
      env: { NATS_URL: nats.url, SEARCH_INDEX_DIR: path.join(scratch, 'search-index'), ...env },
      logDir,
      log,
    });
  } catch (err) {
    await nats.dispose();
    throw err;
  }
  return {
    ...platform,
    ports,
    natsUrl: nats.url,
    searchIndexDir: path.join(scratch, 'search-index'),
    endpoint: `${platform.gatewayUrl}/graphql`,
    pid: (name) => platform.children.find((c) => c.name === name)?.child.pid,
    async stop() {
      await platform.stop();
      await nats.dispose();
      fs.rmSync(scratch, { recursive: true, force: true });
      await dropDatabase(database);
    },
  };
}

/** POSTs one GraphQL operation; throws with the errors when there is no data. */
export async function graphql(endpoint, query, variables = {}, token) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** A new user signed up through the gateway, given `role` as an admin would, and signed in again. */
export async function userWithRole(endpoint, database, role, tag = role.toLowerCase()) {
  const { default: pg } = await import('pg');
  const { contextDatabaseUrl } = await import('../../../scripts/lib/env.mjs');
  const email = `bench-${tag}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@bench.coursegraph.dev`;
  const password = 'violet-otter-staircase';
  const { signUp } = await graphql(endpoint, 'mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }', {
    i: { email, password, name: `Bench ${tag}` },
  });
  const identity = new pg.Client({ connectionString: contextDatabaseUrl('identity', database) });
  await identity.connect();
  try {
    await identity.query('update users set role = $1 where id = $2', [role, signUp.user.id]);
  } finally {
    await identity.end();
  }
  const { logIn } = await graphql(endpoint, 'mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }', {
    i: { email, password },
  });
  return { userId: signUp.user.id, email, token: logIn.accessToken };
}

/**
 * Waits until every service's consumers have caught up and its outbox is empty (the sums of
 * `coursegraph_event_consumer_lag` and `coursegraph_outbox_backlog` on each /metrics are 0 twice in
 * a row), so what a benchmark measures next is its own load, not a seed's events still being
 * applied. Gives up after `timeoutMs`, saying what was left.
 */
export async function waitForEventsSettled(ports, { timeoutMs = 300_000, log = () => {} } = {}) {
  // What each service still has to apply or publish, by service name.
  const pending = async () => {
    const by = {};
    for (const [name, port] of Object.entries(ports)) {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => (r.ok ? r.text() : ''))
        .catch(() => '');
      for (const line of text.split('\n')) {
        if (!/^coursegraph_(event_consumer_lag|outbox_backlog)\{/.test(line)) continue;
        const value = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (value > 0) by[name] = (by[name] ?? 0) + value;
      }
    }
    return by;
  };
  const deadline = Date.now() + timeoutMs;
  for (let round = 0, quiet = 0; quiet < 2; round++) {
    const by = await pending();
    const left = Object.values(by).reduce((a, b) => a + b, 0);
    quiet = left === 0 ? quiet + 1 : 0;
    if (left && round % 10 === 0) log(`waiting for events to settle: ${left} left ${JSON.stringify(by)}`);
    if (left && Date.now() > deadline)
      throw new Error(`events still pending after ${timeoutMs / 1000} s: ${JSON.stringify(by)}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
