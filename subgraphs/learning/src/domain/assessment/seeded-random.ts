/**
 * Reproducible randomness from a string seed: the same seed gives the same numbers on every
 * machine and run, so a shuffle made for an attempt can be made again instead of stored.
 * Not for secrets (it is predictable by design).
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

const LANE_MULTIPLIERS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f] as const;

function fmix32(x: number): number {
  // The MurmurHash3 finaliser: every input bit affects every output bit.
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * 128 bits of state from a string: its UTF-8 bytes are hashed in four lanes with different
 * multipliers, then each lane is finalised with its neighbour, so near seeds ("a:1", "a:2") give
 * unrelated states.
 */
export function seedState(seed: string): [number, number, number, number] {
  const bytes = new TextEncoder().encode(seed);
  const lanes = [0x811c9dc5, 0x01000193, 0x6a09e667, 0xbb67ae85];
  for (const byte of bytes) {
    for (let i = 0; i < 4; i++) {
      const h = Math.imul((lanes[i] as number) ^ byte, LANE_MULTIPLIERS[i] as number);
      lanes[i] = (h ^ (h >>> 15)) >>> 0;
    }
  }
  const out = lanes.map((h, i) => fmix32((h ^ bytes.length) + (lanes[(i + 1) % 4] as number) + i)) as [
    number,
    number,
    number,
    number,
  ];
  // xoshiro's one forbidden state.
  if (out.every((w) => w === 0)) out[0] = 1;
  return out;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * A seeded generator of uniform numbers in [0, 1): xoshiro128** (Blackman and Vigna, "Scrambled
 * linear pseudorandom number generators", 2018), period 2^128 − 1, state from `seedState(seed)`.
 */
export function randomFromSeed(seed: string): Random {
  let [s0, s1, s2, s3] = seedState(seed);
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result / 4294967296;
  };
}

/** A uniform integer in [0, n) (n ≥ 1); the bias from 32-bit resolution is below 2^-20 for n ≤ 4096. */
export function randomInt(rand: Random, n: number): number {
  return Math.min(n - 1, Math.floor(rand() * n));
}

/** A shuffled copy of `items` (Fisher–Yates, every order equally likely); `items` is not changed. */
export function shuffle<T>(items: readonly T[], rand: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(rand, i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
