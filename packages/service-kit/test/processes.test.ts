/**
 * serviceProcesses (GATEWAY_WORKERS, SUBGRAPH_PROCESSES): a service run as several processes on one
 * port. A small service built on the kit's compiled module is started as a real child process: both
 * processes answer on the shared port, only the first runs the background work, a process that dies
 * is replaced under its index (so background work comes back), and SIGTERM stops them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The module alone, not the kit's index: the processes start in a moment, however busy the machine.
const PROCESSES = pathToFileURL(path.resolve(__dirname, '../dist/processes.js')).href;

interface Answer {
  pid: number;
  index: number;
  background: boolean;
}

let primary: ChildProcess;
let port: number;
let dir: string;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One request on a connection of its own (node:cluster hands each new connection to the next
 * process; a kept-alive one would always reach the same process), bounded in case it reached a
 * process just killed.
 */
function ask(): Promise<Answer | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(JSON.parse(body) as Answer));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Asks until every index has answered (polling, bounded by the test's timeout); the answers by index. */
async function answersByIndex(count: number, notPid?: number): Promise<Map<number, Answer>> {
  const seen = new Map<number, Answer>();
  while (seen.size < count) {
    const answer = await ask();
    if (answer && answer.pid !== notPid) seen.set(answer.index, answer);
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return seen;
}

beforeAll(async () => {
  port = await freePort();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-processes-'));
  const script = path.join(dir, 'service.mjs');
  fs.writeFileSync(
    script,
    `import http from 'node:http';
import { serviceProcesses } from ${JSON.stringify(PROCESSES)};
const quiet = { info() {}, error() {} };
const role = serviceProcesses(2, quiet);
if (role.serves) {
  const server = http.createServer((req, res) =>
    res.end(JSON.stringify({ pid: process.pid, index: role.index, background: role.background })));
  server.listen(${port}, '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
`,
  );
  // Its own process group, so that a failed test still stops every process it forked (afterAll).
  primary = spawn(process.execPath, [script], { stdio: 'inherit', detached: true });
});

afterAll(() => {
  try {
    process.kill(-primary.pid!, 'SIGKILL');
  } catch {
    // Already stopped, as the last test leaves it.
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('serviceProcesses', () => {
  let first: Map<number, Answer>;

  it('serves from two processes on one port; only the first runs the background work', async () => {
    first = await answersByIndex(2);
    expect([...first.keys()].sort()).toEqual([0, 1]);
    expect(first.get(0)!.pid).not.toBe(first.get(1)!.pid);
    expect(first.get(0)!.background).toBe(true);
    expect(first.get(1)!.background).toBe(false);
    expect([first.get(0)!.pid, first.get(1)!.pid]).not.toContain(primary.pid);
  });

  it('replaces a process that dies under its index, so the background work runs again', async () => {
    const dead = first.get(0)!.pid;
    process.kill(dead, 'SIGKILL');
    const after = await answersByIndex(2, dead);
    expect(after.get(0)!.pid).not.toBe(dead);
    expect(after.get(0)!.background).toBe(true);
    expect(after.get(1)!.pid).toBe(first.get(1)!.pid);
    first = after;
  });

  it('stops every process on SIGTERM, then exits 0', async () => {
    const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const answer of first.values()) expect(alive(answer.pid)).toBe(false);
  });
});
