/**
 * A service as several processes sharing its port (node:cluster): the gateway (GATEWAY_WORKERS) and
 * the subgraphs that say so (SUBGRAPH_PROCESSES). The primary only forks and supervises; each process
 * it forks is a whole service (its own server, pools and connections). A process that dies is
 * replaced under the same index; SIGTERM/SIGINT stop every process gracefully (each drains its
 * in-flight requests) before the primary exits; SIGHUP is passed on.
 *
 *     const role = serviceProcesses(config.processes, logger);
 *     if (role.serves) { …the service; its relay and consumers only where role.background… }
 *
 * Background work (the outbox relay, event consumers) runs in the process of index 0 only: a relay
 * per process would be safe (`skip locked`), but consumers sharing one durable consumer would apply
 * one stream's events in parallel, out of their order.
 */
import cluster, { type Worker } from 'node:cluster';
import { parse, type ConfigSpec } from './config.js';
import type { Logger } from './logger.js';

/** How soon a process that keeps dying on start is forked again. */
const RESTART_DELAY_MS = 1_000;
/** The environment variable that tells a forked process its index. */
const INDEX_ENV = 'COURSEGRAPH_PROCESS_INDEX';

/** The switch, in the config spec of each subgraph that may run as several processes. */
export const processesSetting = {
  processes: {
    env: 'SUBGRAPH_PROCESSES',
    default: 1,
    parse: parse.positiveInt,
    doc: 'processes of this subgraph sharing its port (node:cluster); the relay and event consumers run in the first',
  },
} satisfies ConfigSpec;

export type ServiceProcess =
  /** The primary of several: it supervises, the service runs in the processes it forked. */
  | { serves: false }
  /** A process that serves; `background`: it also runs the relay and consumers. */
  | { serves: true; background: boolean; index: number };

/** With `count` > 1 in the primary, forks and supervises `count` processes; says what this process does. */
export function serviceProcesses(count: number, logger: Logger): ServiceProcess {
  if (cluster.isWorker) {
    const index = Number(process.env[INDEX_ENV] ?? 0);
    return { serves: true, background: index === 0, index };
  }
  if (count <= 1) return { serves: true, background: true, index: 0 };
  superviseProcesses(count, logger);
  return { serves: false };
}

function superviseProcesses(count: number, logger: Logger): void {
  let stopping = false;
  const indexOf = new Map<Worker, number>();
  const fork = (index: number) => indexOf.set(cluster.fork({ [INDEX_ENV]: String(index) }), index);
  for (let i = 0; i < count; i++) fork(i);
  cluster.on('exit', (worker: Worker, code, signal) => {
    const index = indexOf.get(worker) ?? 0;
    indexOf.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ worker: worker.process.pid, index, code, signal }, 'service process died; starting another');
    setTimeout(() => fork(index), RESTART_DELAY_MS);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, processes: count }, 'stopping service processes');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker.process.kill(signal);
  };
  // SIGHUP: each process reloads what it holds (the gateway its supergraph).
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
