/**
 * The per-subgraph circuit breaker: opens after N failures in a row, fails fast while open,
 * half-opens after its delay to let exactly one probe through, closes on the probe's success,
 * opens again on its failure, and logs one structured line per change of state.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '@coursegraph/test-support';
import { CircuitBreaker, CircuitBreakers } from '../src/circuit-breaker.js';

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = (obj: object) => void lines.push(obj as Record<string, unknown>);
  return { lines, logger: { warn: log } };
}

/** Waits (bounded) for the breaker's timer to half-open it. */
const halfOpened = (breaker: CircuitBreaker) =>
  eventually(`the ${breaker.name} breaker to half-open`, () => breaker.state === 'half-open', {
    timeoutMs: 5_000,
    intervalMs: 5,
  });

describe('the circuit breaker', () => {
  it('stays closed below the threshold, and a success restarts the count', () => {
    const breaker = new CircuitBreaker('search', { failureThreshold: 3, openMs: 60_000 });
    breaker.failure('TIMEOUT');
    breaker.failure('TIMEOUT');
    breaker.success();
    breaker.failure('TIMEOUT');
    breaker.failure('TIMEOUT');
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    breaker.dispose();
  });

  it('opens after N failures in a row and then refuses every call', () => {
    const { lines, logger } = recordingLogger();
    const breaker = new CircuitBreaker('search', { failureThreshold: 3, openMs: 60_000, logger });
    for (let i = 0; i < 3; i++) breaker.failure('UNREACHABLE');
    expect(breaker.state).toBe('open');
    expect([breaker.tryAcquire(), breaker.tryAcquire()]).toEqual([false, false]);
    // A late success of a call sent before it opened does not close it.
    breaker.success();
    expect(breaker.state).toBe('open');
    expect(lines).toEqual([
      expect.objectContaining({ event: 'circuit-breaker', subgraph: 'search', from: 'closed', to: 'open' }),
    ]);
    expect(String(lines[0]!.why)).toContain('UNREACHABLE');
    breaker.dispose();
  });

  it('half-opens after its delay, lets one probe through, and closes when it succeeds', async () => {
    const { lines, logger } = recordingLogger();
    const breaker = new CircuitBreaker('enrollment', { failureThreshold: 1, openMs: 20, logger });
    breaker.failure('TIMEOUT');
    await halfOpened(breaker);
    expect(breaker.tryAcquire()).toBe(true);
    // Only the one probe while it is out.
    expect(breaker.tryAcquire()).toBe(false);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    expect(lines.map((l) => `${l.from}→${l.to}`)).toEqual(['closed→open', 'open→half-open', 'half-open→closed']);
  });

  it('opens again when the probe fails, and half-opens again later', async () => {
    const breaker = new CircuitBreaker('payment', { failureThreshold: 2, openMs: 20 });
    breaker.failure('TIMEOUT');
    breaker.failure('TIMEOUT');
    await halfOpened(breaker);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure('HTTP 503');
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    await halfOpened(breaker);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.dispose();
  });

  it('gives the probe slot back when the probe ends without a verdict', async () => {
    const breaker = new CircuitBreaker('course', { failureThreshold: 1, openMs: 10 });
    breaker.failure('TIMEOUT');
    await halfOpened(breaker);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.neutral();
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    breaker.dispose();
  });

  it('refuses nonsense settings', () => {
    expect(() => new CircuitBreaker('x', { failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker('x', { openMs: -1 })).toThrow(/openMs/);
  });

  it("reports every subgraph's state", () => {
    const breakers = new CircuitBreakers({ failureThreshold: 1, openMs: 60_000 });
    breakers.for('course');
    breakers.for('search').failure('TIMEOUT');
    expect(breakers.states()).toEqual({ course: 'closed', search: 'open' });
    expect(breakers.for('search')).toBe(breakers.for('search'));
    breakers.dispose();
  });
});
