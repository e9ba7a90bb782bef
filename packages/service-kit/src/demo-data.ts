/** Helpers for the demo-data seeds every context ships (`npm start` loads them). */

/** mulberry32: a tiny seeded generator, so demo activity is the same on every machine. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits (printing progress) until a projection built from events holds `expected` rows. */
export async function waitForProjection(
  name: string,
  count: () => Promise<number>,
  expected: number,
  log: (line: string) => void,
  timeoutMs = 300_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const n = await count();
    if (n >= expected) return;
    if (n !== last) log(`seed: waiting for ${name}'s course projection: ${n}/${expected}`);
    last = n;
    if (Date.now() > deadline) throw new Error(`${name}'s course projection stuck at ${n}/${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
