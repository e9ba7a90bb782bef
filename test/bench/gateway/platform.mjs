// The platform the gateways are measured against: a database of the benchmark's own, a NATS server
// of its own, every subgraph on free ports, and the demo data. Never touches `npm start`'s or the
// tests' database, ports or streams, so it can run beside them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, postgresAdminUrl } from '../../../scripts/lib/env.mjs';

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

/** A JetStream server of the run's own, so the platform's durable consumers never meet `npm start`'s. */
export async function startNats() {
  const port = await freePort();
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-nats-'));
  const server = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`nats-server did not start on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async dispose() {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(storeDir, { recursive: true, force: true });
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
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
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
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run npm run build (and cargo build --bins in rust-subgraphs)`);
}
