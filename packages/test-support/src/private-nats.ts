/**
 * A nats-server of a test's own (JetStream on, its own store folder and port), so a test can stop
 * and start NATS without touching the shared one other tests use. It runs the configuration of
 * every local NATS (scripts/lib/nats-config.mjs): one user per service with its permissions, and no
 * connection without credentials.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { withNatsUser, writeNatsConfig } from './scripts.js';
import { freePort } from './ports.js';

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

export interface PrivateNats {
  /** As the `operator` user (every right): what a test itself connects with (connect(natsConnectOptions(url)) for nats.js). */
  url: string;
  /** Without credentials: refused by the server. */
  bareUrl: string;
  /** As the generated user `user` (a service's: identity, course, …, gateway, search). */
  urlAs(user: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

export async function privateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-nats-'));
  let server: ChildProcess | null = null;
  const bareUrl = `nats://127.0.0.1:${port}`;
  // Beside the store, not in it: JetStream owns what is under store_dir.
  const config = writeNatsConfig(`${storeDir}.conf`, { port, storeDir });
  const self: PrivateNats = {
    url: withNatsUser(bareUrl, 'operator'),
    bareUrl,
    urlAs: (user) => withNatsUser(bareUrl, user),
    async start() {
      const proc = spawn('nats-server', ['-c', config], { stdio: 'ignore' });
      server = proc;
      const deadline = Date.now() + 15_000;
      while (!(await accepts(port))) {
        if (Date.now() > deadline || proc.exitCode !== null)
          throw new Error(`private nats-server did not start on ${port}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      const proc = server;
      server = null;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    },
    async dispose() {
      await self.stop();
      fs.rmSync(storeDir, { recursive: true, force: true });
      fs.rmSync(config, { force: true });
    },
  };
  return self;
}
