/** How long `eventually` polls, and how often. */
export interface EventuallyOptions {
  /** Gives up after this many milliseconds. Default 30 000: events cross NATS and projections lag. */
  timeoutMs?: number;
  /** Waits this long between checks. Default 50 ms: quick to notice, light on the 2 shared cores. */
  intervalMs?: number;
}

/**
 * The tests' one polling helper: calls `check` until it returns a value other than undefined, null
 * or false, and returns that value. A check that throws counts as "not yet" (a service still
 * starting refuses connections); after `timeoutMs` it fails naming `what` and the last error.
 */
export async function eventually<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 50 }: EventuallyOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false)
        return value as Exclude<T, undefined | null | false>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
