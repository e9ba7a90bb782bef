/** Every type graded right, wrong and (where it has parts) partially, through the learner's view and answer. */
import { describe, expect, it } from 'vitest';
import { parseItemInput, type ItemType } from '../../src/domain/assessment/item-content.js';
import { gradeResponse } from '../../src/domain/assessment/grading.js';
import { parseResponse } from '../../src/domain/assessment/item-response.js';
import { learnerView } from '../../src/domain/assessment/learner-view.js';
import { INPUTS, refusal } from './fixtures.js';

const SEED = 'attempt-4:item-2';

/** Grades an answer sent by a learner of the fixture item of `type`. */
function grade(type: ItemType, answer: Record<string, unknown>, input: Record<string, unknown> = INPUTS[type]) {
  const content = parseItemInput(input);
  return gradeResponse(content, parseResponse(content, answer, SEED));
}

const view = (type: ItemType) => learnerView(parseItemInput(INPUTS[type]), SEED);
/** An ORDERING answer listing the entries by text, in view ids. */
const orderOf = (...texts: string[]) => ({
  order: texts.map((t) => view('ORDERING').entries?.find((e) => e.text === t)?.id),
});
/** A MATCHING answer from [left id, right text] pairs, in view ids. */
const matchesOf = (...pairs: [string, string][]) => ({
  matches: pairs.map(([leftId, text]) => ({
    leftId,
    rightId: view('MATCHING').right?.find((r) => r.text === text)?.id,
  })),
});

describe('gradeResponse', () => {
  it('SINGLE_CHOICE: all or nothing', () => {
    expect(grade('SINGLE_CHOICE', { choiceIds: ['jupiter'] })).toEqual({ score: 1, correct: true });
    expect(grade('SINGLE_CHOICE', { choiceIds: ['mars'] })).toEqual({ score: 0, correct: false });
  });

  it('MULTIPLE_CHOICE: (right picks − wrong picks) / correct choices, floored at 0', () => {
    // Key: a, b, d of six.
    expect(grade('MULTIPLE_CHOICE', { choiceIds: ['d', 'a', 'b'] })).toEqual({ score: 1, correct: true });
    expect(grade('MULTIPLE_CHOICE', { choiceIds: ['a', 'b'] })).toEqual({ score: 2 / 3, correct: false });
    expect(grade('MULTIPLE_CHOICE', { choiceIds: ['a', 'b', 'c'] })).toEqual({ score: (2 - 1) / 3, correct: false });
    expect(grade('MULTIPLE_CHOICE', { choiceIds: ['a', 'c', 'e', 'f'] })).toEqual({ score: 0, correct: false });
    expect(grade('MULTIPLE_CHOICE', { choiceIds: ['a', 'b', 'c', 'd', 'e', 'f'] }).score).toBe(0);
    expect(grade('MULTIPLE_CHOICE', { choiceIds: [] }).score).toBe(0);
  });

  it('TRUE_FALSE: all or nothing', () => {
    expect(grade('TRUE_FALSE', { trueFalse: true })).toEqual({ score: 1, correct: true });
    expect(grade('TRUE_FALSE', { trueFalse: false })).toEqual({ score: 0, correct: false });
  });

  it('NUMERIC: within ± tolerance, edges included', () => {
    // Key: 3.14 ± 0.01.
    for (const n of [3.14, 3.15, 3.13, 3.145]) expect(grade('NUMERIC', { number: n }).correct, String(n)).toBe(true);
    for (const n of [3.1501, 3.1299, 3.2, -3.14])
      expect(grade('NUMERIC', { number: n }), String(n)).toEqual({ score: 0, correct: false });
  });

  it('NUMERIC with tolerance 0: exact up to float rounding only', () => {
    const exact = { type: 'NUMERIC', prompt: 'Sum?', numericAnswer: 0.3 };
    expect(grade('NUMERIC', { number: 0.1 + 0.2 }, exact).correct).toBe(true);
    expect(grade('NUMERIC', { number: 0.3001 }, exact).correct).toBe(false);
    const large = { type: 'NUMERIC', prompt: 'How many?', numericAnswer: 1_000_000 };
    expect(grade('NUMERIC', { number: 1_000_001 }, large).correct).toBe(false);
  });

  it('SHORT_TEXT: any accepted answer, normalised', () => {
    expect(grade('SHORT_TEXT', { text: ' PARIS. ' })).toEqual({ score: 1, correct: true });
    expect(grade('SHORT_TEXT', { text: 'lutetia' }).correct).toBe(true);
    expect(grade('SHORT_TEXT', { text: 'Pariss' })).toEqual({ score: 0, correct: false });
    expect(grade('SHORT_TEXT', { text: '' }).score).toBe(0);
  });

  it('ORDERING: share of entries in their right position', () => {
    expect(grade('ORDERING', orderOf('Install', 'Compile', 'Test', 'Deploy'))).toEqual({ score: 1, correct: true });
    expect(grade('ORDERING', orderOf('Compile', 'Install', 'Test', 'Deploy'))).toEqual({
      score: 2 / 4,
      correct: false,
    });
    expect(grade('ORDERING', orderOf('Install', 'Test', 'Deploy', 'Compile')).score).toBe(1 / 4);
    expect(grade('ORDERING', orderOf('Deploy', 'Test', 'Compile', 'Install')).score).toBe(0);
  });

  it('MATCHING: share of pairs matched right; unmatched left sides count as wrong', () => {
    const all = matchesOf(['fr', 'Paris'], ['de', 'Berlin'], ['it', 'Rome']);
    expect(grade('MATCHING', all)).toEqual({ score: 1, correct: true });
    expect(grade('MATCHING', matchesOf(['fr', 'Paris'], ['de', 'Rome'], ['it', 'Berlin']))).toEqual({
      score: 1 / 3,
      correct: false,
    });
    expect(grade('MATCHING', matchesOf(['fr', 'Paris'], ['de', 'Berlin'])).score).toBe(2 / 3);
    expect(grade('MATCHING', matchesOf(['fr', 'Berlin'], ['de', 'Paris'])).score).toBe(0);
    expect(grade('MATCHING', { matches: [] }).score).toBe(0);
  });

  it('CLOZE: share of blanks filled with an accepted answer, normalised', () => {
    const both = {
      blanks: [
        { id: 'animal', text: 'Cat' },
        { id: 'thing', text: 'RUG.' },
      ],
    };
    expect(grade('CLOZE', both)).toEqual({ score: 1, correct: true });
    expect(
      grade('CLOZE', {
        blanks: [
          { id: 'animal', text: 'dog' },
          { id: 'thing', text: 'mat' },
        ],
      }),
    ).toEqual({
      score: 1 / 2,
      correct: false,
    });
    expect(grade('CLOZE', { blanks: [{ id: 'thing', text: 'mat' }] }).score).toBe(1 / 2);
    expect(
      grade('CLOZE', {
        blanks: [
          { id: 'animal', text: 'mat' },
          { id: 'thing', text: 'cat' },
        ],
      }).score,
    ).toBe(0);
  });

  it('refuses a response of another type than the item', () => {
    const content = parseItemInput(INPUTS.TRUE_FALSE);
    refusal(() => gradeResponse(content, { type: 'NUMERIC', number: 1 }), 'answer');
    refusal(
      () => gradeResponse(parseItemInput(INPUTS.SINGLE_CHOICE), { type: 'MULTIPLE_CHOICE', choiceIds: ['jupiter'] }),
      'answer',
    );
  });
});
