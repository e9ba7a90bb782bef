/**
 * A redis-server of a test's own (its own port, nothing saved to disk), so a test can pause it
 * (SIGSTOP: connections stay open, nothing answers, as with a hung or swapping server) and resume
 * it (SIGCONT) without touching the shared Redis other tests use. Like every local Redis it requires
 * the generated password (scripts/lib/redis-config.mjs); `url` carries it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { redisPassword, withRedisPassword, writeRedisConfig } from './scripts.js';
import { freePort } from './ports.js';

/** True when the server accepts the password and answers PING with PONG within a moment. */
const pongs = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => socket.write(`AUTH ${redisPassword()}\r\nPING\r\n`));
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.split('\r\n').length > 2) done(answer.startsWith('+OK\r\n+PONG'));
    });
    socket.once('error', () => done(false));
  });

export interface PrivateRedis {
  /** With the password. */
  url: string;
  port: number;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  /** SIGCONT: it answers again, the commands that waited first. */
  resume(): void;
  /** Resumes it if paused, then ends it. */
  dispose(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-redis-'));
  const config = writeRedisConfig(path.join(dir, 'redis.conf'), { port, dir });
  const server: ChildProcess = spawn('redis-server', [config], { stdio: 'ignore' });
  server.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const deadline = Date.now() + 15_000;
  while (!(await pongs(port))) {
    if (Date.now() > deadline || server.exitCode !== null) {
      server.kill('SIGKILL');
      throw new Error(`private redis-server did not start on ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: withRedisPassword(`redis://127.0.0.1:${port}`),
    port,
    pause: () => void server.kill('SIGSTOP'),
    resume: () => void server.kill('SIGCONT'),
    async dispose() {
      if (server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGCONT');
      server.kill('SIGKILL');
      await exited;
    },
  };
}
