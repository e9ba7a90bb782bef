/**
 * A job run on a timer: once at start, then `intervalMs` after each run ends (runs never overlap).
 * A failing run is logged and the next one tries again. stop() waits for the run in hand.
 */
import type { Logger } from './logger.js';

export interface PeriodicJob {
  stop(): Promise<void>;
}

export function startPeriodicJob(
  name: string,
  intervalMs: number,
  run: () => Promise<unknown>,
  logger: Logger,
): PeriodicJob {
  const log = logger.child({ component: name });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = run()
      .catch((err: unknown) => log.error({ err: (err as Error).message }, `${name} failed; retrying on the next run`))
      .finally(() => {
        if (!stopping) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await current;
    },
  };
}
