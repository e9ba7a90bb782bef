/** Quiz draws: fixed lists keep their order; pools draw distinct tagged items, reproducibly, and refuse what cannot be filled. */
import { describe, expect, it } from 'vitest';
import { drawItems, parseQuizDraw, type BankItem, type QuizDraw } from '../../src/domain/assessment/quiz-draw.js';
import { refusal } from './fixtures.js';

const bank: BankItem[] = [
  ...Array.from({ length: 10 }, (_, i) => ({ id: `alg-${i}`, tags: ['algebra'] })),
  ...Array.from({ length: 6 }, (_, i) => ({ id: `geo-${i}`, tags: ['geometry'] })),
  ...Array.from({ length: 4 }, (_, i) => ({ id: `both-${i}`, tags: ['algebra', 'geometry'] })),
  { id: 'untagged', tags: [] },
];
const tagsOf = new Map(bank.map((b) => [b.id, b.tags]));
const pools: QuizDraw = {
  kind: 'POOLS',
  pools: [
    { tag: 'algebra', count: 5 },
    { tag: 'geometry', count: 4 },
  ],
};

describe('parseQuizDraw', () => {
  it('reads a fixed list or pools', () => {
    expect(parseQuizDraw({ itemIds: ['q1', 'q2'], pools: null })).toEqual({ kind: 'FIXED', itemIds: ['q1', 'q2'] });
    expect(parseQuizDraw({ pools: [{ tag: ' algebra ', count: 3 }] })).toEqual({
      kind: 'POOLS',
      pools: [{ tag: 'algebra', count: 3 }],
    });
  });

  const cases: [string, unknown, string, RegExp][] = [
    ['both', { itemIds: ['q1'], pools: [{ tag: 'a', count: 1 }] }, 'pools', /not both/],
    ['neither', {}, 'itemIds', /Give itemIds/],
    ['an empty list', { itemIds: [] }, 'itemIds', /1 to 100/],
    ['101 items', { itemIds: Array.from({ length: 101 }, (_, i) => `q${i}`) }, 'itemIds', /1 to 100/],
    ['a repeated id', { itemIds: ['q1', 'q2', 'q1'] }, 'itemIds[2]', /repeats/],
    ['an empty id', { itemIds: ['q1', ' '] }, 'itemIds[1]', /must not be empty/],
    ['a count of 0', { pools: [{ tag: 'a', count: 0 }] }, 'pools[0].count', /1 to 100/],
    ['a count of 101', { pools: [{ tag: 'a', count: 101 }] }, 'pools[0].count', /1 to 100/],
    ['an empty tag', { pools: [{ tag: '', count: 1 }] }, 'pools[0].tag', /must not be empty/],
    [
      'a repeated tag',
      {
        pools: [
          { tag: 'a', count: 1 },
          { tag: 'a', count: 2 },
        ],
      },
      'pools[1].tag',
      /repeats/,
    ],
    [
      'over 100 items in all',
      {
        pools: [
          { tag: 'a', count: 60 },
          { tag: 'b', count: 41 },
        ],
      },
      'pools',
      /101 items/,
    ],
    ['an unknown field', { itemIds: ['q1'], shuffle: true }, 'shuffle', /no field/],
  ];
  for (const [name, input, field, message] of cases) {
    it(`refuses ${name} (${field})`, () => {
      expect(refusal(() => parseQuizDraw(input), field)).toMatch(message);
    });
  }
});

describe('drawItems', () => {
  it('FIXED keeps the listed order and refuses an id not in the bank', () => {
    expect(drawItems({ kind: 'FIXED', itemIds: ['geo-2', 'alg-0', 'both-1'] }, bank, 's')).toEqual([
      'geo-2',
      'alg-0',
      'both-1',
    ]);
    expect(refusal(() => drawItems({ kind: 'FIXED', itemIds: ['alg-0', 'gone'] }, bank, 's'), 'itemIds[1]')).toMatch(
      /gone is not in/,
    );
  });

  it('POOLS draws count distinct items per pool, each carrying its tag', () => {
    for (let i = 0; i < 30; i++) {
      const drawn = drawItems(pools, bank, `attempt-${i}`);
      expect(drawn).toHaveLength(9);
      expect(new Set(drawn).size).toBe(9);
      expect(drawn.slice(0, 5).every((id) => tagsOf.get(id)?.includes('algebra'))).toBe(true);
      expect(drawn.slice(5).every((id) => tagsOf.get(id)?.includes('geometry'))).toBe(true);
    }
  });

  it('is reproducible for a seed, and differs between seeds', () => {
    expect(drawItems(pools, bank, 'attempt-1')).toEqual(drawItems(pools, bank, 'attempt-1'));
    const draws = new Set(Array.from({ length: 10 }, (_, i) => drawItems(pools, bank, `attempt-${i}`).join(',')));
    expect(draws.size).toBeGreaterThanOrEqual(9);
  });

  it('over many seeds, draws every item of a pool at some point (no item left out)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) for (const id of drawItems(pools, bank, `attempt-${i}`)) seen.add(id);
    expect([...seen].sort()).toEqual(
      bank
        .filter((b) => b.tags.length > 0)
        .map((b) => b.id)
        .sort(),
    );
  });

  it('shares items tagged for two pools so both fill whenever an assignment exists', () => {
    // A greedy draw that gives both shared items to the first pool would leave the second one short.
    const tight: BankItem[] = [
      { id: 'x1', tags: ['a', 'b'] },
      { id: 'x2', tags: ['a', 'b'] },
      { id: 'y1', tags: ['a'] },
      { id: 'z1', tags: ['b'] },
    ];
    const draw: QuizDraw = {
      kind: 'POOLS',
      pools: [
        { tag: 'a', count: 2 },
        { tag: 'b', count: 2 },
      ],
    };
    for (let i = 0; i < 40; i++) {
      const drawn = drawItems(draw, tight, `seed-${i}`);
      expect([...drawn].sort()).toEqual(['x1', 'x2', 'y1', 'z1']);
      expect(drawn.slice(0, 2)).toContain('y1');
      expect(drawn.slice(2)).toContain('z1');
    }
  });

  it('refuses a pool with fewer tagged items than it asks for', () => {
    const draw: QuizDraw = {
      kind: 'POOLS',
      pools: [
        { tag: 'algebra', count: 3 },
        { tag: 'geometry', count: 11 },
      ],
    };
    expect(refusal(() => drawItems(draw, bank, 's'), 'pools[1].count')).toMatch(
      /asks for 11 items, but the bank has 10/,
    );
    refusal(() => drawItems({ kind: 'POOLS', pools: [{ tag: 'history', count: 1 }] }, bank, 's'), 'pools[0].count');
  });

  it('refuses pools that together ask for more distinct items than their tags cover, naming them', () => {
    const tight: BankItem[] = [
      { id: 'x1', tags: ['a', 'b'] },
      { id: 'x2', tags: ['a', 'b'] },
      { id: 'y1', tags: ['a'] },
      { id: 'c1', tags: ['c'] },
    ];
    const draw: QuizDraw = {
      kind: 'POOLS',
      pools: [
        { tag: 'c', count: 1 },
        { tag: 'a', count: 2 },
        { tag: 'b', count: 2 },
      ],
    };
    expect(refusal(() => drawItems(draw, tight, 's'), 'pools[2].count')).toBe(
      'The pools tagged "a", "b" ask for 4 distinct items, but only 3 items of the bank carry one of these tags.',
    );
  });
});
