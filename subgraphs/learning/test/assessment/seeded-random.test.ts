/** The seeded generator is reproducible, seed-sensitive and uniform; shuffles are permutations with every order reachable. */
import { describe, expect, it } from 'vitest';
import { randomFromSeed, randomInt, seedState, shuffle } from '../../src/domain/assessment/seeded-random.js';

const draws = (seed: string, n: number) => {
  const rand = randomFromSeed(seed);
  return Array.from({ length: n }, () => rand());
};

describe('randomFromSeed', () => {
  it('gives the same numbers for the same seed and others for a near seed', () => {
    expect(draws('attempt-1:item-1', 20)).toEqual(draws('attempt-1:item-1', 20));
    const a = draws('attempt-1:item-1', 20);
    const b = draws('attempt-1:item-2', 20);
    expect(a.filter((x, i) => x === b[i])).toEqual([]);
    expect(seedState('a')).not.toEqual(seedState('b'));
  });

  it('stays in [0, 1) and fills ten equal bins evenly (chi-square below the 0.1% critical value)', () => {
    const n = 20_000;
    const values = draws('uniformity', n);
    expect(values.every((x) => x >= 0 && x < 1)).toBe(true);
    const bins = new Array<number>(10).fill(0);
    for (const x of values) bins[Math.floor(x * 10)]!++;
    const expected = n / 10;
    const chi2 = bins.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 27.88 is the 0.999 quantile of chi-square with 9 degrees of freedom.
    expect(chi2).toBeLessThan(27.88);
  });

  it('draws integers in range', () => {
    const rand = randomFromSeed('ints');
    const seen = new Set(Array.from({ length: 500 }, () => randomInt(rand, 7)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('shuffle', () => {
  it('returns a permutation and leaves its input alone', () => {
    const input = ['a', 'b', 'c', 'd', 'e'];
    const out = shuffle(input, randomFromSeed('s'));
    expect(input).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect([...out].sort()).toEqual(input);
  });

  it('reaches all six orders of three items about equally often over many seeds', () => {
    const counts = new Map<string, number>();
    const n = 6000;
    for (let i = 0; i < n; i++) {
      const key = shuffle([1, 2, 3], randomFromSeed(`seed-${i}`)).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - n / 6) ** 2 / (n / 6), 0);
    // 20.52 is the 0.999 quantile of chi-square with 5 degrees of freedom.
    expect(chi2).toBeLessThan(20.52);
  });
});
