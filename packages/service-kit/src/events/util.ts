/** Small helpers shared by the relay, the consumer and the NATS connection. */

const CONTEXT = /^[a-z][a-z0-9_]*$/;
/** Context names become SQL identifiers, stream names and subject tokens: keep them plain. */
export function assertContextName(context: string): void {
  if (!CONTEXT.test(context)) throw new Error(`invalid context name (expected ${CONTEXT}): ${JSON.stringify(context)}`);
}

/** Retry delay for attempt 0, 1, 2, ...: 100 ms doubling to 5 s. */
export const backoffMs = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 16), 5_000);

/** Resolves after `ms`, or at once when `signal` aborts (so stop() never waits out a backoff). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
