import { describe, expect, it } from 'vitest';
import { fromBytes, toBytes, VectorIndex } from '../../src/domain/retrieval/vector-index.js';
import { seededRandom } from '@coursegraph/service-kit';

const vec = (...values: number[]) => Float32Array.from(values);

describe('VectorIndex', () => {
  it('returns the k most similar vectors of the course, best first, by cosine', () => {
    const index = new VectorIndex(3);
    index.add('x', 'c1', vec(1, 0, 0));
    index.add('xy', 'c1', vec(1, 1, 0));
    index.add('y', 'c1', vec(0, 5, 0)); // stored normalised: its length does not matter
    index.add('z', 'c1', vec(0, 0, 1));
    const hits = index.search(vec(2, 1, 0), { courseId: 'c1', k: 3 });
    expect(hits.map((h) => h.id)).toEqual(['xy', 'x', 'y']);
    expect(hits[0]!.score).toBeCloseTo(3 / Math.sqrt(10), 5);
    expect(hits[2]!.score).toBeCloseTo(1 / Math.sqrt(5), 5);
  });

  it('filters by course', () => {
    const index = new VectorIndex(2);
    index.add('mine', 'c1', vec(0, 1));
    index.add('theirs', 'c2', vec(1, 0));
    expect(index.search(vec(1, 0), { courseId: 'c1', k: 5 }).map((h) => h.id)).toEqual(['mine']);
    expect(index.search(vec(1, 0), { courseId: 'c3', k: 5 })).toEqual([]);
  });

  it('agrees with a brute-force ranking after growing, replacing and removing', () => {
    const random = seededRandom(7);
    const dimensions = 16;
    const index = new VectorIndex(dimensions, 2);
    const reference = new Map<string, { course: string; vector: Float32Array }>();
    const randomVector = () => Float32Array.from({ length: dimensions }, () => random() - 0.5);
    for (let i = 0; i < 300; i++) {
      const id = `p${i % 200}`; // the last 100 replace earlier ones
      const course = i % 3 === 0 ? 'c2' : 'c1';
      const vector = randomVector();
      index.add(id, course, vector);
      reference.set(id, { course, vector });
    }
    for (let i = 0; i < 200; i += 4) {
      expect(index.remove(`p${i}`)).toBe(true);
      reference.delete(`p${i}`);
    }
    expect(index.remove('p0')).toBe(false);
    expect(index.size).toBe(reference.size);

    const query = randomVector();
    const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const expected = [...reference]
      .filter(([, entry]) => entry.course === 'c1')
      .map(([id, { vector }]) => ({
        id,
        score: vector.reduce((s, x, i) => s + x * query[i]!, 0) / norm(vector) / norm(query),
      }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
    const hits = index.search(query, { courseId: 'c1', k: 10 });
    expect(hits.map((h) => h.id)).toEqual(expected.map((e) => e.id));
    hits.forEach((hit, i) => expect(hit.score).toBeCloseTo(expected[i]!.score, 5));
  });

  it('refuses vectors of the wrong size or with non-numbers, and changes nothing', () => {
    const index = new VectorIndex(3);
    expect(() => index.add('a', 'c1', vec(1, 2))).toThrow(/3 dimensions, got 2 dimensions/);
    expect(() => index.add('a', 'c1', vec(1, Number.NaN, 0))).toThrow(/not a finite number/);
    expect(() => index.search(vec(1, 0, 0, 0), { courseId: 'c1', k: 1 })).toThrow(/3 dimensions/);
    expect(index.size).toBe(0);
  });
});

describe('toBytes / fromBytes', () => {
  it('round-trips a vector exactly, as little-endian float32', () => {
    const vector = vec(1, -0.5, 3.25, 1e-7, -123456.78);
    const bytes = toBytes(vector);
    expect(bytes.byteLength).toBe(20);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x00, 0x80, 0x3f]); // 1.0f
    expect(Array.from(fromBytes(bytes, 5))).toEqual(Array.from(vector));
    // Buffers from a driver are often views into a larger pool, at an offset.
    const pooled = Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(bytes)]).subarray(3);
    expect(Array.from(fromBytes(pooled, 5))).toEqual(Array.from(vector));
  });

  it('refuses bytes of the wrong length', () => {
    expect(() => fromBytes(new Uint8Array(10), 3)).toThrow(/3 dimensions takes 12 bytes, not 10/);
  });
});
