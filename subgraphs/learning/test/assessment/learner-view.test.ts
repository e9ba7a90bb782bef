/** Learner views carry no answer key for any type, and their shuffles are reproducible per seed and vary between seeds. */
import { describe, expect, it } from 'vitest';
import { ITEM_TYPES, parseItemInput, type ItemContentOf } from '../../src/domain/assessment/item-content.js';
import { learnerView } from '../../src/domain/assessment/learner-view.js';
import { INPUTS } from './fixtures.js';

const KEY_FIELDS = [
  'correctChoiceIds',
  'trueFalseAnswer',
  'numericAnswer',
  'tolerance',
  'acceptedAnswers',
  'orderedEntries',
  'pairs',
  'blanks',
  'explanation',
];

function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => keysOf(v, into));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keysOf(v, into);
    }
  return into;
}

describe('learnerView hides the key', () => {
  it('for every type: no key or explanation field, and is JSON-serialisable', () => {
    for (const type of ITEM_TYPES) {
      const view = learnerView(parseItemInput(INPUTS[type]), 'attempt-1:item-1');
      const json = JSON.stringify(view);
      expect(JSON.parse(json)).toEqual(view);
      const keys = keysOf(view);
      for (const field of KEY_FIELDS) expect(keys.has(field), `${type} view has ${field}`).toBe(false);
      expect([...keys].filter((k) => /correct|answer|explanation/i.test(k))).toEqual([]);
      expect(view).toMatchObject({ type, prompt: INPUTS[type].prompt, points: INPUTS[type].points ?? 1 });
    }
  });

  it('leaves out the values of keys: explanation, numeric answer, accepted answers', () => {
    const single = JSON.stringify(learnerView(parseItemInput(INPUTS.SINGLE_CHOICE), 's'));
    expect(single).not.toContain('Earth masses');
    const numeric = JSON.stringify(learnerView(parseItemInput(INPUTS.NUMERIC), 's'));
    expect(numeric).not.toContain('3.14');
    const short = JSON.stringify(learnerView(parseItemInput(INPUTS.SHORT_TEXT), 's'));
    expect(short).not.toContain('Lutetia');
    expect(short).not.toContain('Paris');
    const cloze = learnerView(parseItemInput(INPUTS.CLOZE), 's');
    expect(JSON.stringify(cloze)).not.toMatch(/"(cat|mat|rug)"/);
    expect(cloze).toEqual({
      type: 'CLOZE',
      prompt: 'Fill in the blanks.',
      points: 1,
      clozeText: 'The {{animal}} sat on the {{thing}}.',
      blankIds: ['animal', 'thing'],
    });
  });

  it('ORDERING: all entries, under per-attempt ids that are not the authored ones', () => {
    const content = parseItemInput(INPUTS.ORDERING) as ItemContentOf<'ORDERING'>;
    const view = learnerView(content, 'attempt-1:item-1');
    expect(view.entries?.map((e) => e.text).sort()).toEqual(content.orderedEntries.map((e) => e.text).sort());
    const authored = new Set(content.orderedEntries.map((e) => e.id));
    expect(view.entries?.filter((e) => authored.has(e.id))).toEqual([]);
    expect(new Set(view.entries?.map((e) => e.id)).size).toBe(4);
    // Another attempt gets other ids, so ids learnt in one attempt say nothing in the next.
    const other = learnerView(content, 'attempt-2:item-1');
    const ids = new Set(view.entries?.map((e) => e.id));
    expect(other.entries?.filter((e) => ids.has(e.id))).toEqual([]);
  });

  it('MATCHING: left sides with pair ids, right sides shuffled under ids that are no left id', () => {
    const content = parseItemInput(INPUTS.MATCHING) as ItemContentOf<'MATCHING'>;
    for (let i = 0; i < 20; i++) {
      const view = learnerView(content, `attempt-${i}:item-1`);
      expect(view.left).toEqual(content.pairs.map((p) => ({ id: p.id, text: p.left })));
      expect(view.right?.map((r) => r.text).sort()).toEqual(['Berlin', 'Paris', 'Rome']);
      const leftIds = new Set(view.left?.map((l) => l.id));
      expect(view.right?.filter((r) => leftIds.has(r.id))).toEqual([]);
    }
  });
});

describe('learnerView shuffles from its seed', () => {
  const six = parseItemInput(INPUTS.MULTIPLE_CHOICE);
  const orderOf = (seed: string) =>
    learnerView(six, seed)
      .choices?.map((c) => c.id)
      .join(',');

  it('gives the same order for the same seed (a reload)', () => {
    for (const seed of ['a:1', 'b:2', 'c:3']) expect(orderOf(seed)).toBe(orderOf(seed));
    expect(learnerView(six, 'x:y')).toEqual(learnerView(six, 'x:y'));
  });

  it('gives different orders across seeds for a 6-choice item, each a permutation of the choices', () => {
    const orders = Array.from({ length: 10 }, (_, i) => orderOf(`attempt-${i}:item-7`) as string);
    // 720 orders: ten seeds landing on fewer than 8 distinct ones would mean the seed is barely used.
    expect(new Set(orders).size).toBeGreaterThanOrEqual(8);
    for (const o of orders) expect(o.split(',').sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('leaves the first position to every choice over many seeds (no choice is pinned)', () => {
    const first = new Set(Array.from({ length: 60 }, (_, i) => orderOf(`attempt-${i}:q`)?.split(',')[0]));
    expect(first.size).toBe(6);
  });
});
