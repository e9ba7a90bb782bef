/**
 * Runs the gateway as GATEWAY_WORKERS processes sharing one port (node:cluster): the primary only
 * forks and supervises, each worker is a whole gateway (its own server, subgraph pools and
 * subscription connections). A worker that dies is replaced; SIGTERM/SIGINT stop every worker
 * gracefully (each drains its in-flight requests) before the primary exits; SIGHUP is passed on.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@coursegraph/service-kit';

/** How soon a worker that keeps dying on start is forked again. */
const RESTART_DELAY_MS = 1_000;

export function superviseWorkers(count: number, logger: Logger): void {
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'gateway worker died; starting another');
    setTimeout(fork, RESTART_DELAY_MS);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: count }, 'stopping gateway workers');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker.process.kill(signal);
  };
  // SIGHUP reloads the supergraph: each worker serves its own copy (app.ts).
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
