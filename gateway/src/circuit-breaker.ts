/**
 * A circuit breaker per subgraph. After `failureThreshold` failures in a row (timeouts, connection
 * errors, 5xx) it opens: calls fail at once, without waiting for a subgraph that is not answering,
 * so a dead context costs the requests that touch it nothing but a null field. After `openMs` it
 * half-opens and lets one call through as a probe: success closes it, failure opens it again.
 * Every change of state is one structured log line.
 */
import type { Logger } from '@coursegraph/service-kit';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failures in a row that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before one probe is let through. Default 10 000 ms. */
  openMs?: number;
  /** Where state changes are logged (one JSON line each). Default: not logged. */
  logger?: Pick<Logger, 'warn'>;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private probeInFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly failureThreshold: number;
  private readonly openMs: number;

  constructor(
    readonly name: string,
    private readonly options: CircuitBreakerOptions = {},
  ) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.openMs = options.openMs ?? 10_000;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1)
      throw new Error(`failureThreshold must be a whole number ≥ 1, got ${this.failureThreshold}.`);
    if (!Number.isFinite(this.openMs) || this.openMs < 0) throw new Error(`openMs must be ≥ 0, got ${this.openMs}.`);
  }

  get state(): BreakerState {
    return this.current;
  }

  /**
   * Whether a call may go now. Closed: yes. Open: no. Half-open: only the one probe; the caller that
   * gets `true` must end with `success`, `failure` or `neutral`.
   */
  tryAcquire(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** The subgraph answered: the circuit closes (a half-open probe succeeded) and the count restarts. */
  success(): void {
    // A call sent before the circuit opened says little about now; the probe decides.
    if (this.current === 'open') return;
    this.failures = 0;
    this.probeInFlight = false;
    if (this.current === 'half-open') this.transition('closed', 'a probe succeeded');
  }

  /** The subgraph did not answer (timeout, connection refused or reset, 5xx). */
  failure(reason: string): void {
    if (this.current === 'open') return;
    if (this.current === 'half-open') {
      this.probeInFlight = false;
      this.open(`the probe failed: ${reason}`);
      return;
    }
    this.failures += 1;
    if (this.failures >= this.failureThreshold) this.open(`${this.failures} failures in a row, the last: ${reason}`);
  }

  /** A call that ended without saying anything about the subgraph's health (the request's own deadline). */
  neutral(): void {
    this.probeInFlight = false;
  }

  /** Stops the half-open timer (on gateway shutdown). */
  dispose(): void {
    clearTimeout(this.timer);
  }

  private open(why: string): void {
    this.transition('open', why);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.transition('half-open', `open for ${this.openMs} ms`), this.openMs);
    // Never keeps a process alive on its own.
    this.timer.unref();
  }

  private transition(to: BreakerState, why: string): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    if (to !== 'open') this.failures = 0;
    // All at warn, recovery included: wherever the opening is seen, its end is too.
    this.options.logger?.warn(
      { event: 'circuit-breaker', subgraph: this.name, from, to, why },
      `circuit of subgraph ${this.name}: ${from} → ${to}`,
    );
  }
}

/** One breaker per subgraph, created on first use, and the state of each (for `/readyz`). */
export class CircuitBreakers {
  private readonly breakers = new Map<string, CircuitBreaker>();
  constructor(private readonly options: CircuitBreakerOptions = {}) {}

  for(subgraph: string): CircuitBreaker {
    let breaker = this.breakers.get(subgraph);
    if (!breaker) {
      breaker = new CircuitBreaker(subgraph, this.options);
      this.breakers.set(subgraph, breaker);
    }
    return breaker;
  }

  /** Each subgraph's circuit: `closed`, `open` or `half-open`. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([name, breaker]) => [name, breaker.state]));
  }

  dispose(): void {
    for (const breaker of this.breakers.values()) breaker.dispose();
  }
}
