/**
 * What the HTTP providers (anthropic.ts, http-embeddings.ts) share: one deadline per call, the retry
 * policy, and how HTTP failures become ProviderErrors.
 *
 * Retries are ours, not the SDK's: the SDK waits whatever retry-after the server sends (up to 24 days)
 * and gives each attempt a fresh timeout, so a call could outlive its deadline many times over. Here a
 * call has one deadline for all its attempts, and a retry-after longer than `maxRetryWaitMs` or past the
 * deadline is not waited: the call fails at once with the server's `retryAfterMs`, and the router falls
 * back to the deterministic provider.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError, type ProviderErrorKind } from './provider.js';

export interface RetryPolicy {
  /** Further attempts after the first. */
  maxRetries: number;
  /** A retry-after longer than this is not waited. */
  maxRetryWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 2, maxRetryWaitMs: 5_000 };

/** Kinds worth another attempt: the provider may answer the same request a moment later. */
const RETRYABLE = new Set<ProviderErrorKind>(['rate_limited', 'overloaded', 'unavailable']);

/** Waits when the server said nothing: 0.5 s, 1 s, 2 s, … up to 4 s, less up to a quarter of jitter. */
function backoffMs(retry: number): number {
  const base = Math.min(500 * 2 ** retry, 4_000);
  return base * (1 - Math.random() * 0.25);
}

/**
 * One call's time budget, shared by its attempts and the waits between them. `signal` aborts at the
 * deadline or when the caller's own signal aborts; `timedOut` tells the two apart.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly endsAt: number;
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort(this.callerSignal?.reason);
  timedOut = false;

  constructor(
    readonly timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new ProviderError('bad_request', `timeoutMs must be a positive number of milliseconds, not ${timeoutMs}.`);
    this.endsAt = performance.now() + timeoutMs;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new ProviderError('timeout', `No answer within ${timeoutMs} ms.`));
    }, timeoutMs);
    if (callerSignal?.aborted) this.onCallerAbort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  /** The caller cancelled (not a failure of the provider): its own reason is rethrown as is. */
  get cancelledByCaller(): boolean {
    return !this.timedOut && this.callerSignal?.aborted === true;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }

  /**
   * Rethrows what an attempt threw, as the caller should see it: the caller's own abort reason when it
   * cancelled, a `timeout` ProviderError past the deadline, otherwise `toProviderError(error)`.
   */
  fail(error: unknown, toProviderError: (error: unknown) => ProviderError, timeoutMessage: string): never {
    if (this.cancelledByCaller) throw this.callerSignal?.reason;
    if (this.timedOut) throw new ProviderError('timeout', timeoutMessage);
    throw toProviderError(error);
  }
}

/**
 * Runs `attempt` until it succeeds, fails with a kind not worth retrying, runs out of retries, or the
 * next wait would be longer than allowed or end past the deadline (then the last error is thrown,
 * keeping its `retryAfterMs`). `attempt` throws ProviderErrors only.
 */
export async function withRetries<T>(attempt: () => Promise<T>, policy: RetryPolicy, deadline: Deadline): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ProviderError) || !RETRYABLE.has(error.kind) || retry >= policy.maxRetries) throw error;
      if (error.retryAfterMs !== undefined && error.retryAfterMs > policy.maxRetryWaitMs) throw error;
      const waitMs = error.retryAfterMs ?? backoffMs(retry);
      if (waitMs >= deadline.remainingMs()) throw error;
      try {
        await sleep(waitMs, undefined, { signal: deadline.signal });
      } catch {
        deadline.fail(error, () => error, `No answer within ${deadline.timeoutMs} ms.`);
      }
    }
  }
}

/** The ProviderError kind for an HTTP error status (provider.ts documents the kinds). */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 529 || status === 503) return 'overloaded';
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500 || status === 408) return 'unavailable';
  return 'bad_request';
}

/**
 * How long the server asked us to wait, from `retry-after-ms` (milliseconds) or `retry-after` (seconds,
 * or an HTTP date); undefined when it said nothing usable.
 */
export function retryAfterMsFrom(headers: Headers | undefined): number | undefined {
  const milliseconds = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds;
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number.parseFloat(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** `text` with every occurrence of the secret blanked, for messages built from what a server said. */
export function withoutSecret(text: string, secret: string): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}
