import { describe, expect, it } from 'vitest';
import {
  assertNoCycle,
  topologicalOrder,
  unmetPrerequisites,
  wouldCreateCycle,
  type ConceptEdge,
} from '../../src/domain/mastery/concept-graph.js';

const e = (from: string, to: string): ConceptEdge => ({ from, to });

function badInputMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as { extensions?: { code?: string } }).extensions?.code).toBe('BAD_USER_INPUT');
    return (err as Error).message;
  }
  throw new Error('expected BAD_USER_INPUT');
}

describe('cycle detection', () => {
  it('a self-edge is a cycle', () => {
    expect(wouldCreateCycle([], e('a', 'a'))).toEqual(['a', 'a']);
  });

  it('an edge back to a prerequisite closes a two-concept cycle', () => {
    expect(wouldCreateCycle([e('a', 'b')], e('b', 'a'))).toEqual(['b', 'a', 'b']);
  });

  it('returns the whole path of a long cycle', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const chain = ids.slice(1).map((id, i) => e(ids[i]!, id));
    expect(wouldCreateCycle(chain, e('c9', 'c0'))).toEqual(['c9', ...ids]);
    // Every consecutive pair of the path is an edge (the new one first).
    const path = wouldCreateCycle(chain, e('c7', 'c2'))!;
    expect(path).toEqual(['c7', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
  });

  it('names the shortest way back when there are several', () => {
    const edges = [e('a', 'b'), e('b', 'c'), e('c', 'd'), e('a', 'd')];
    expect(wouldCreateCycle(edges, e('d', 'a'))).toEqual(['d', 'a', 'd']);
  });

  it('accepts edges that keep the graph acyclic, including shortcuts and duplicates', () => {
    const diamond = [e('a', 'b'), e('a', 'c'), e('b', 'd'), e('c', 'd')];
    expect(wouldCreateCycle(diamond, e('a', 'd'))).toBeNull();
    expect(wouldCreateCycle(diamond, e('b', 'c'))).toBeNull();
    expect(wouldCreateCycle(diamond, e('a', 'b'))).toBeNull();
    expect(wouldCreateCycle(diamond, e('x', 'a'))).toBeNull();
  });

  it('assertNoCycle refuses with the cycle named by title, and passes a safe edge', () => {
    const titles = new Map([
      ['a', 'Fractions'],
      ['b', 'Ratios'],
      ['c', 'Percentages'],
    ]);
    const edges = [e('a', 'b'), e('b', 'c')];
    expect(badInputMessage(() => assertNoCycle(edges, e('c', 'a'), titles))).toBe(
      'Making Percentages a prerequisite of Fractions would create a cycle: Percentages → Fractions → Ratios → Percentages.',
    );
    expect(badInputMessage(() => assertNoCycle(edges, e('b', 'b'), titles))).toBe(
      'A concept cannot be its own prerequisite: Ratios.',
    );
    expect(() => assertNoCycle(edges, e('a', 'c'), titles)).not.toThrow();
  });

  it('refuses a malformed edge', () => {
    expect(badInputMessage(() => wouldCreateCycle([], { from: 'a' } as never))).toMatch(/new prerequisite edge/);
  });
});

describe('topological order', () => {
  it('puts every prerequisite first and keeps the given order between independent concepts', () => {
    const concepts = ['d', 'c', 'b', 'a', 'z'];
    const edges = [e('a', 'b'), e('a', 'c'), e('b', 'd'), e('c', 'd')];
    const order = topologicalOrder(concepts, edges);
    // Among concepts whose prerequisites are placed, the earliest in `concepts` comes next.
    expect(order).toEqual(['a', 'c', 'b', 'd', 'z']);
    for (const { from, to } of edges) expect(order.indexOf(from)).toBeLessThan(order.indexOf(to));
    expect(topologicalOrder([{ id: 'y' }, { id: 'x' }], [])).toEqual(['y', 'x']);
  });

  it('refuses a cyclic graph, naming the cycle', () => {
    const message = badInputMessage(() =>
      topologicalOrder(['a', 'b', 'c', 'd'], [e('a', 'b'), e('b', 'c'), e('c', 'b'), e('c', 'd')]),
    );
    expect(message).toMatch(/cycle: b → c → b\./);
    expect(badInputMessage(() => topologicalOrder(['a'], [e('a', 'a')]))).toMatch(/cycle: a → a\./);
  });

  it('refuses an edge to a concept outside the course, and duplicate concepts', () => {
    expect(badInputMessage(() => topologicalOrder(['a'], [e('a', 'q')]))).toMatch(
      /concept q, which is not in the course/,
    );
    expect(badInputMessage(() => topologicalOrder(['a', 'a'], []))).toMatch(/listed twice/);
  });
});

describe('unmet prerequisites', () => {
  const edges = [e('a', 'b'), e('b', 'c'), e('x', 'c')];

  it('lists direct and indirect prerequisites not mastered, nearest first', () => {
    expect(unmetPrerequisites('c', edges, new Set())).toEqual(['b', 'x', 'a']);
    expect(unmetPrerequisites('c', edges, new Set(['b']))).toEqual(['x', 'a']);
  });

  it('is empty when all prerequisites are mastered or there are none', () => {
    expect(unmetPrerequisites('c', edges, new Set(['a', 'b', 'x']))).toEqual([]);
    expect(unmetPrerequisites('a', edges, new Set())).toEqual([]);
  });
});
