/** Learners' answers are parsed against their item (per-attempt ids mapped back), refused naming the field, and shown back in view ids. */
import { describe, expect, it } from 'vitest';
import {
  ITEM_TYPES,
  parseItemInput,
  type ItemContent,
  type ItemType,
} from '../../src/domain/assessment/item-content.js';
import { answerInputView, parseResponse, type ItemResponse } from '../../src/domain/assessment/item-response.js';
import { learnerView } from '../../src/domain/assessment/learner-view.js';
import { INPUTS, refusal } from './fixtures.js';

const SEED = 'attempt-9:item-3';
const item = (type: ItemType): ItemContent => parseItemInput(INPUTS[type]);

/** An answer a learner could send for each type, built from what the view shows. */
function sampleAnswer(type: ItemType): Record<string, unknown> {
  const view = learnerView(item(type), SEED);
  switch (type) {
    case 'SINGLE_CHOICE':
      return { choiceIds: ['venus'] };
    case 'MULTIPLE_CHOICE':
      return { choiceIds: ['a', 'c'] };
    case 'TRUE_FALSE':
      return { trueFalse: false };
    case 'NUMERIC':
      return { number: 2.5 };
    case 'SHORT_TEXT':
      return { text: '  paris ' };
    case 'ORDERING':
      return { order: view.entries?.map((e) => e.id) };
    case 'MATCHING':
      return { matches: [{ leftId: 'fr', rightId: view.right?.[0]?.id }] };
    case 'CLOZE':
      return { blanks: [{ id: 'thing', text: 'rug' }] };
  }
}

describe('parseResponse', () => {
  it('maps ORDERING view ids back to the authored entries, in the learner order', () => {
    const content = item('ORDERING');
    const view = learnerView(content, SEED);
    const textToId = new Map([
      ['Install', 'step1'],
      ['Compile', 'step2'],
      ['Test', 'step3'],
      ['Deploy', 'step4'],
    ]);
    const response = parseResponse(content, { order: view.entries?.map((e) => e.id) }, SEED);
    expect(response).toEqual({ type: 'ORDERING', order: view.entries?.map((e) => textToId.get(e.text)) });
  });

  it('maps MATCHING right ids back to the pair whose right side was chosen', () => {
    const content = item('MATCHING');
    const view = learnerView(content, SEED);
    const rightId = (text: string) => view.right?.find((r) => r.text === text)?.id;
    const response = parseResponse(
      content,
      {
        matches: [
          { leftId: 'fr', rightId: rightId('Rome') },
          { leftId: 'de', rightId: rightId('Berlin') },
        ],
      },
      SEED,
    );
    expect(response).toEqual({
      type: 'MATCHING',
      matches: [
        { leftId: 'fr', rightId: 'it' },
        { leftId: 'de', rightId: 'de' },
      ],
    });
  });

  it('keeps the other types as sent (texts trimmed)', () => {
    expect(parseResponse(item('SINGLE_CHOICE'), { choiceIds: ['mars'] }, SEED)).toEqual({
      type: 'SINGLE_CHOICE',
      choiceIds: ['mars'],
    });
    expect(parseResponse(item('MULTIPLE_CHOICE'), { choiceIds: [] }, SEED)).toEqual({
      type: 'MULTIPLE_CHOICE',
      choiceIds: [],
    });
    expect(parseResponse(item('TRUE_FALSE'), { trueFalse: true, number: null }, SEED)).toEqual({
      type: 'TRUE_FALSE',
      trueFalse: true,
    });
    expect(parseResponse(item('NUMERIC'), { number: -1e-3 }, SEED)).toEqual({ type: 'NUMERIC', number: -1e-3 });
    expect(parseResponse(item('SHORT_TEXT'), { text: '  Paris ' }, SEED)).toEqual({
      type: 'SHORT_TEXT',
      text: 'Paris',
    });
    expect(parseResponse(item('CLOZE'), { blanks: [{ id: 'animal', text: 'cat' }] }, SEED)).toEqual({
      type: 'CLOZE',
      blanks: [{ id: 'animal', text: 'cat' }],
    });
  });

  it('refuses ids of another attempt: per-attempt ids are only valid with their seed', () => {
    const content = item('ORDERING');
    const view = learnerView(content, 'attempt-1:item-3');
    refusal(() => parseResponse(content, { order: view.entries?.map((e) => e.id) }, 'attempt-2:item-3'), 'order[0]');
    refusal(() => parseResponse(content, { order: ['step1', 'step2', 'step3', 'step4'] }, SEED), 'order[0]');
  });
});

describe('parseResponse refuses, naming the field', () => {
  const matching = item('MATCHING');
  const right = learnerView(matching, SEED).right ?? [];
  const ordering = learnerView(item('ORDERING'), SEED).entries ?? [];
  const cases: [string, ItemType, unknown, string, RegExp][] = [
    [
      'a field of another type',
      'SINGLE_CHOICE',
      { choiceIds: ['mars'], number: 3 },
      'number',
      /number is not used by SINGLE_CHOICE answers/,
    ],
    ['text on a true/false item', 'TRUE_FALSE', { text: 'true' }, 'text', /not used by TRUE_FALSE/],
    ['an unknown field', 'TRUE_FALSE', { trueFalse: true, confidence: 3 }, 'confidence', /AnswerInput has no field/],
    ['no answer field', 'NUMERIC', {}, 'number', /NUMERIC answers need number/],
    ['an unknown choice id', 'SINGLE_CHOICE', { choiceIds: ['pluto'] }, 'choiceIds[0]', /names no choice/],
    ['two picks on a single choice', 'SINGLE_CHOICE', { choiceIds: ['mars', 'venus'] }, 'choiceIds', /1 to 1 entries/],
    ['no pick on a single choice', 'SINGLE_CHOICE', { choiceIds: [] }, 'choiceIds', /1 to 1 entries/],
    ['a repeated pick', 'MULTIPLE_CHOICE', { choiceIds: ['a', 'a'] }, 'choiceIds[1]', /repeats/],
    ['a number as text', 'NUMERIC', { number: '3.14' }, 'number', /finite number/],
    ['a non-boolean', 'TRUE_FALSE', { trueFalse: 1 }, 'trueFalse', /true or false/],
    ['text over 1000 characters', 'SHORT_TEXT', { text: 'a'.repeat(1001) }, 'text', /at most 1000/],
    [
      'an ordering missing an entry',
      'ORDERING',
      { order: ordering.slice(1).map((e) => e.id) },
      'order',
      /4 to 4 entries/,
    ],
    [
      'an ordering repeating an entry',
      'ORDERING',
      { order: [ordering[0]?.id, ordering[0]?.id, ordering[1]?.id, ordering[2]?.id] },
      'order[1]',
      /repeats/,
    ],
    [
      'an unknown left id',
      'MATCHING',
      { matches: [{ leftId: 'es', rightId: right[0]?.id }] },
      'matches[0].leftId',
      /no left side/,
    ],
    [
      'a left id as right id',
      'MATCHING',
      { matches: [{ leftId: 'fr', rightId: 'fr' }] },
      'matches[0].rightId',
      /no right side/,
    ],
    [
      'a left side matched twice',
      'MATCHING',
      {
        matches: [
          { leftId: 'fr', rightId: right[0]?.id },
          { leftId: 'fr', rightId: right[1]?.id },
        ],
      },
      'matches[1].leftId',
      /repeats/,
    ],
    [
      'a right side used twice',
      'MATCHING',
      {
        matches: [
          { leftId: 'fr', rightId: right[0]?.id },
          { leftId: 'de', rightId: right[0]?.id },
        ],
      },
      'matches[1].rightId',
      /repeats/,
    ],
    ['an unknown blank', 'CLOZE', { blanks: [{ id: 'dog', text: 'x' }] }, 'blanks[0].id', /no blank/],
    [
      'a blank answered twice',
      'CLOZE',
      {
        blanks: [
          { id: 'animal', text: 'cat' },
          { id: 'animal', text: 'dog' },
        ],
      },
      'blanks[1].id',
      /repeats/,
    ],
    [
      'a blank text over 1000 characters',
      'CLOZE',
      { blanks: [{ id: 'animal', text: 'c'.repeat(1001) }] },
      'blanks[0].text',
      /at most 1000/,
    ],
  ];
  for (const [name, type, input, field, message] of cases) {
    it(`${name} (${field})`, () => {
      const before = structuredClone(input);
      expect(refusal(() => parseResponse(item(type), input, SEED), field)).toMatch(message);
      expect(input).toEqual(before);
    });
  }

  it('an answer that is not an object, and prefixes paths when asked', () => {
    refusal(() => parseResponse(item('TRUE_FALSE'), 'true', SEED), 'answer');
    refusal(() => parseResponse(item('TRUE_FALSE'), { trueFalse: 'no' }, SEED, 'answer'), 'answer.trueFalse');
  });
});

describe('answerInputView', () => {
  it('gives back, for every type, an answer that parses to the same response', () => {
    for (const type of ITEM_TYPES) {
      const content = item(type);
      const response: ItemResponse = parseResponse(content, sampleAnswer(type), SEED);
      const shown = answerInputView(content, response, SEED);
      expect(parseResponse(content, shown, SEED), type).toEqual(response);
    }
  });

  it('shows ORDERING and MATCHING answers in the ids of the learner view', () => {
    const content = item('MATCHING');
    const view = learnerView(content, SEED);
    const answer = { matches: [{ leftId: 'it', rightId: view.right?.[2]?.id }] };
    expect(answerInputView(content, parseResponse(content, answer, SEED), SEED)).toEqual(answer);
  });

  it('refuses a saved response of another type', () => {
    refusal(() => answerInputView(item('TRUE_FALSE'), { type: 'NUMERIC', number: 1 }, SEED), 'answer');
  });
});
