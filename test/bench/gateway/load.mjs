// The load loop: `connections` keep-alive connections, each sending its next request as soon as the
// previous answer is read, for a fixed duration. Every answer is checked by the workload (a fast
// wrong answer is an error); latencies of all answers, right or wrong, go into the percentiles.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile as nearestRank } from '../lib/measure.mjs';

/** POSTs `body` as JSON over `agent`; resolves with the status and the answer's text (`timeoutMs`, default 10 s). */
export function post(agent, url, body, headers, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs / 1000} s`)));
    req.end(body);
  });
}

// No answers at all reads as 0 ms here, not NaN.
const percentile = (sorted, p) => (sorted.length ? nearestRank(sorted, p) : 0);
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Runs `workload` against `url`: `next(i)` gives request i ({ body, headers, check }), `check(status,
 * text)` returns null when right or a reason when wrong. Returns the figures and the first few reasons.
 */
export async function runLoad({ url, workload, connections, durationMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  const reasons = new Map();
  let errors = 0;
  let sent = 0;
  const fail = (reason) => {
    errors++;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  const started = performance.now();
  const until = started + durationMs;
  async function connection() {
    while (performance.now() < until) {
      const request = workload.next(sent++);
      const t0 = performance.now();
      try {
        const res = await post(agent, url, request.body, request.headers);
        latencies.push(performance.now() - t0);
        const wrong = request.check(res.status, res.text);
        if (wrong) fail(wrong);
      } catch (err) {
        latencies.push(performance.now() - t0);
        fail(`transport: ${err.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, connection));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    rps: Math.round(latencies.length / elapsed),
    p50_ms: round(percentile(sorted, 50)),
    p95_ms: round(percentile(sorted, 95)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted[sorted.length - 1] ?? 0),
    errors,
    error_reasons: Object.fromEntries([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5)),
  };
}
