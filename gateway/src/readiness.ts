/**
 * The gateway's `/readyz` report: each subgraph's readiness (its own `/readyz`) and its circuit
 * breaker's state (gateway/src/circuit-breaker.ts). A gateway with some subgraphs down still
 * serves partial answers, so it stays in rotation (200, `degraded`); only with every subgraph down
 * is it `unavailable` (503), since then it can answer nothing but errors.
 */
import type { ReadinessReport } from '@coursegraph/service-kit';

export type SubgraphState = 'ready' | 'unavailable';

export interface SubgraphReadiness {
  state: SubgraphState;
  /** Why it is unavailable: `HTTP 503`, `timed out`, `unreachable`. */
  reason?: string;
  /** The subgraph's circuit-breaker state (`closed`, `open`, `half-open`), when breakers report one. */
  circuit?: string;
}

export interface ReadinessOptions {
  /** Subgraph name → its GraphQL URL; `/readyz` on the same origin is probed. */
  subgraphUrls: Record<string, string>;
  /** How long one subgraph's probe may take before it counts as unavailable. Default 2 000 ms. */
  probeTimeoutMs?: number;
  /** Each subgraph's circuit-breaker state, shown beside its readiness. Default: none (readiness only). */
  breakerStates?: () => Record<string, string>;
}

async function probe(url: string, timeoutMs: number): Promise<SubgraphReadiness> {
  try {
    const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(timeoutMs) });
    // The body is read so the connection can be reused; its content is the subgraph's business.
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? { state: 'ready' } : { state: 'unavailable', reason: `HTTP ${res.status}` };
  } catch (err) {
    const name = (err as Error).name;
    return {
      state: 'unavailable',
      reason: name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : 'unreachable',
    };
  }
}

/** Builds the `ready` function `serve()` calls for `/readyz`. */
export function subgraphReadiness({
  subgraphUrls,
  probeTimeoutMs = 2_000,
  breakerStates,
}: ReadinessOptions): () => Promise<ReadinessReport> {
  return async () => {
    const names = Object.keys(subgraphUrls).sort();
    const probes = await Promise.all(names.map((name) => probe(subgraphUrls[name]!, probeTimeoutMs)));
    const circuits = breakerStates?.() ?? {};
    const subgraphs: Record<string, SubgraphReadiness> = {};
    names.forEach((name, i) => {
      subgraphs[name] = circuits[name] ? { ...probes[i]!, circuit: circuits[name] } : probes[i]!;
    });
    const unavailable = names.filter((name) => subgraphs[name]!.state !== 'ready');
    const status = unavailable.length === 0 ? 'ready' : unavailable.length < names.length ? 'degraded' : 'unavailable';
    return { httpStatus: status === 'unavailable' ? 503 : 200, body: { status, unavailable, subgraphs } };
  };
}
