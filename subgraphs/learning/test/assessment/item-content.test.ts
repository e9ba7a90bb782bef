/** Authoring: every type parses into its stored form, and every bad ItemInput is refused naming its field. */
import { describe, expect, it } from 'vitest';
import { ITEM_TYPES, parseItemInput, type ItemType } from '../../src/domain/assessment/item-content.js';
import { INPUTS, inputWith, refusal } from './fixtures.js';

describe('parseItemInput accepts', () => {
  it('every type, keeping its answer key and the common fields', () => {
    for (const type of ITEM_TYPES) {
      const parsed = parseItemInput(INPUTS[type]);
      expect(parsed.type).toBe(type);
      expect(parsed.prompt).toBe(INPUTS[type].prompt);
      // Stored as JSON: survives the round trip unchanged.
      expect(JSON.parse(JSON.stringify(parsed))).toEqual(parsed);
    }
    expect(parseItemInput(INPUTS.SINGLE_CHOICE)).toEqual({
      type: 'SINGLE_CHOICE',
      prompt: 'Which planet is largest?',
      explanation: 'Jupiter has over 300 Earth masses.',
      points: 2,
      choices: [
        { id: 'mars', text: 'Mars' },
        { id: 'jupiter', text: 'Jupiter' },
        { id: 'venus', text: 'Venus' },
      ],
      correctChoiceIds: ['jupiter'],
    });
    expect(parseItemInput(INPUTS.CLOZE)).toMatchObject({
      clozeText: 'The {{animal}} sat on the {{thing}}.',
      blanks: [
        { id: 'thing', acceptedAnswers: ['mat', 'rug'] },
        { id: 'animal', acceptedAnswers: ['cat'] },
      ],
    });
  });

  it('fills defaults: 1 point, no explanation, tolerance 0; trims texts; null means absent', () => {
    const parsed = parseItemInput({
      type: 'NUMERIC',
      prompt: '  How many?  ',
      numericAnswer: 7,
      explanation: '   ',
      trueFalseAnswer: null,
      tolerance: null,
    });
    expect(parsed).toEqual({
      type: 'NUMERIC',
      prompt: 'How many?',
      explanation: null,
      points: 1,
      numericAnswer: 7,
      tolerance: 0,
    });
  });

  it('prefixes field paths when asked', () => {
    refusal(() => parseItemInput(inputWith('SINGLE_CHOICE', { points: 0 }), 'input'), 'input.points');
  });
});

describe('parseItemInput refuses, naming the field', () => {
  const cases: [string, ItemType, Record<string, unknown>, string, RegExp][] = [
    ['an unknown type', 'SINGLE_CHOICE', { type: 'ESSAY' }, 'type', /must be one of/],
    ['an unknown field', 'TRUE_FALSE', { colour: 'red' }, 'colour', /no field "colour"/],
    [
      'a field of another type',
      'SINGLE_CHOICE',
      { trueFalseAnswer: true },
      'trueFalseAnswer',
      /^trueFalseAnswer is not used by SINGLE_CHOICE items\.$/,
    ],
    ['choices on a NUMERIC item', 'NUMERIC', { choices: [] }, 'choices', /not used by NUMERIC/],
    [
      'a missing answer key',
      'TRUE_FALSE',
      { trueFalseAnswer: undefined },
      'trueFalseAnswer',
      /TRUE_FALSE items need trueFalseAnswer/,
    ],
    ['an empty prompt', 'TRUE_FALSE', { prompt: '  ' }, 'prompt', /must not be empty/],
    ['a prompt over 4000 characters', 'TRUE_FALSE', { prompt: 'x'.repeat(4001) }, 'prompt', /at most 4000/],
    ['a control character', 'TRUE_FALSE', { prompt: 'a\u0000b' }, 'prompt', /control characters/],
    ['points of 0', 'TRUE_FALSE', { points: 0 }, 'points', /1 to 100/],
    ['points of 101', 'TRUE_FALSE', { points: 101 }, 'points', /1 to 100/],
    ['fractional points', 'TRUE_FALSE', { points: 1.5 }, 'points', /whole number/],
    ['a non-boolean true/false key', 'TRUE_FALSE', { trueFalseAnswer: 'yes' }, 'trueFalseAnswer', /true or false/],
    [
      'one choice',
      'SINGLE_CHOICE',
      { choices: [{ id: 'a', text: 'A' }], correctChoiceIds: ['a'] },
      'choices',
      /2 to 12/,
    ],
    [
      '13 choices',
      'MULTIPLE_CHOICE',
      { choices: Array.from({ length: 13 }, (_, i) => ({ id: `c${i}`, text: `C${i}` })), correctChoiceIds: ['c0'] },
      'choices',
      /2 to 12/,
    ],
    [
      'a bad choice id',
      'SINGLE_CHOICE',
      {
        choices: [
          { id: 'a', text: 'A' },
          { id: 'b c', text: 'B' },
        ],
        correctChoiceIds: ['a'],
      },
      'choices[1].id',
      /1 to 40 letters/,
    ],
    [
      'a 41-character id',
      'SINGLE_CHOICE',
      {
        choices: [
          { id: 'a', text: 'A' },
          { id: 'x'.repeat(41), text: 'B' },
        ],
        correctChoiceIds: ['a'],
      },
      'choices[1].id',
      /1 to 40/,
    ],
    [
      'a repeated choice id',
      'SINGLE_CHOICE',
      {
        choices: [
          { id: 'a', text: 'A' },
          { id: 'a', text: 'B' },
        ],
        correctChoiceIds: ['a'],
      },
      'choices[1].id',
      /repeats the id of choices\[0\]\.id/,
    ],
    [
      'a repeated choice text',
      'SINGLE_CHOICE',
      {
        choices: [
          { id: 'a', text: 'Same' },
          { id: 'b', text: 'Same' },
        ],
        correctChoiceIds: ['a'],
      },
      'choices[1].text',
      /repeats the text/,
    ],
    [
      'a choice text over 500 characters',
      'SINGLE_CHOICE',
      {
        choices: [
          { id: 'a', text: 'A' },
          { id: 'b', text: 'b'.repeat(501) },
        ],
        correctChoiceIds: ['a'],
      },
      'choices[1].text',
      /at most 500/,
    ],
    [
      'an unknown field in a choice',
      'SINGLE_CHOICE',
      {
        choices: [
          { id: 'a', text: 'A', correct: true },
          { id: 'b', text: 'B' },
        ],
        correctChoiceIds: ['a'],
      },
      'choices[0].correct',
      /ChoiceInput has no field/,
    ],
    [
      'two keys on a single choice',
      'SINGLE_CHOICE',
      { correctChoiceIds: ['mars', 'jupiter'] },
      'correctChoiceIds',
      /1 to 1 entries/,
    ],
    ['no key on a multiple choice', 'MULTIPLE_CHOICE', { correctChoiceIds: [] }, 'correctChoiceIds', /1 to 6 entries/],
    [
      'a key that is no choice',
      'MULTIPLE_CHOICE',
      { correctChoiceIds: ['a', 'z'] },
      'correctChoiceIds[1]',
      /names no choice/,
    ],
    ['a repeated key', 'MULTIPLE_CHOICE', { correctChoiceIds: ['a', 'a'] }, 'correctChoiceIds[1]', /repeats/],
    ['an infinite numeric answer', 'NUMERIC', { numericAnswer: Infinity }, 'numericAnswer', /finite/],
    ['a NaN tolerance', 'NUMERIC', { tolerance: NaN }, 'tolerance', /finite/],
    ['a negative tolerance', 'NUMERIC', { tolerance: -0.5 }, 'tolerance', /0 or more/],
    ['no accepted answers', 'SHORT_TEXT', { acceptedAnswers: [] }, 'acceptedAnswers', /1 to 20/],
    [
      '21 accepted answers',
      'SHORT_TEXT',
      { acceptedAnswers: Array.from({ length: 21 }, (_, i) => `a${i}`) },
      'acceptedAnswers',
      /1 to 20/,
    ],
    [
      'a punctuation-only accepted answer',
      'SHORT_TEXT',
      { acceptedAnswers: ['Paris', '?!'] },
      'acceptedAnswers[1]',
      /only punctuation/,
    ],
    [
      'accepted answers equal once normalised',
      'SHORT_TEXT',
      { acceptedAnswers: ['Paris', ' PARIS. '] },
      'acceptedAnswers[1]',
      /normalised answer/,
    ],
    ['one ordering entry', 'ORDERING', { orderedEntries: [{ id: 'a', text: 'A' }] }, 'orderedEntries', /2 to 12/],
    [
      'a repeated entry id',
      'ORDERING',
      {
        orderedEntries: [
          { id: 'a', text: 'A' },
          { id: 'a', text: 'B' },
        ],
      },
      'orderedEntries[1].id',
      /repeats/,
    ],
    [
      'an empty entry text',
      'ORDERING',
      {
        orderedEntries: [
          { id: 'a', text: 'A' },
          { id: 'b', text: '' },
        ],
      },
      'orderedEntries[1].text',
      /must not be empty/,
    ],
    ['one pair', 'MATCHING', { pairs: [{ id: 'a', left: 'A', right: '1' }] }, 'pairs', /2 to 12/],
    [
      'a pair without right',
      'MATCHING',
      {
        pairs: [
          { id: 'a', left: 'A', right: '1' },
          { id: 'b', left: 'B' },
        ],
      },
      'pairs[1].right',
      /must be a string/,
    ],
    [
      'two equal right sides',
      'MATCHING',
      {
        pairs: [
          { id: 'a', left: 'A', right: '1' },
          { id: 'b', left: 'B', right: '1' },
        ],
      },
      'pairs[1].right',
      /repeats the text/,
    ],
    [
      'a cloze text without markers',
      'CLOZE',
      { clozeText: 'No blanks here.' },
      'clozeText',
      /no \{\{blankId\}\} marker/,
    ],
    [
      'a malformed marker',
      'CLOZE',
      { clozeText: 'The {{ animal }} sat.', blanks: [{ id: 'animal', acceptedAnswers: ['cat'] }] },
      'clozeText',
      /without spaces/,
    ],
    [
      'a stray brace pair',
      'CLOZE',
      { clozeText: 'The {{animal}} sat {{on.', blanks: [{ id: 'animal', acceptedAnswers: ['cat'] }] },
      'clozeText',
      /not part of a/,
    ],
    [
      'a marker twice',
      'CLOZE',
      { clozeText: '{{a}} and {{a}}', blanks: [{ id: 'a', acceptedAnswers: ['x'] }] },
      'clozeText',
      /twice/,
    ],
    [
      'a marker without blank',
      'CLOZE',
      { clozeText: '{{a}} and {{b}}', blanks: [{ id: 'a', acceptedAnswers: ['x'] }] },
      'blanks',
      /no blank "b"/,
    ],
    [
      'a blank without marker',
      'CLOZE',
      {
        clozeText: '{{a}} only',
        blanks: [
          { id: 'a', acceptedAnswers: ['x'] },
          { id: 'b', acceptedAnswers: ['y'] },
        ],
      },
      'blanks[1].id',
      /no \{\{b\}\} marker/,
    ],
    [
      'a repeated blank id',
      'CLOZE',
      {
        clozeText: '{{a}} only',
        blanks: [
          { id: 'a', acceptedAnswers: ['x'] },
          { id: 'a', acceptedAnswers: ['y'] },
        ],
      },
      'blanks[1].id',
      /repeats/,
    ],
    [
      'a blank without accepted answers',
      'CLOZE',
      { clozeText: '{{a}} only', blanks: [{ id: 'a', acceptedAnswers: [] }] },
      'blanks[0].acceptedAnswers',
      /1 to 20/,
    ],
    [
      'a blank answer that normalises to nothing',
      'CLOZE',
      { clozeText: '{{a}} only', blanks: [{ id: 'a', acceptedAnswers: ['.'] }] },
      'blanks[0].acceptedAnswers[0]',
      /only punctuation/,
    ],
  ];
  for (const [name, type, changes, field, message] of cases) {
    it(`${name} (${field})`, () => {
      const input = inputWith(type, changes);
      const before = structuredClone(input);
      expect(refusal(() => parseItemInput(input), field)).toMatch(message);
      expect(input).toEqual(before);
    });
  }

  it('input that is not an object', () => {
    expect(refusal(() => parseItemInput(null), 'item')).toMatch(/must be an object/);
    expect(refusal(() => parseItemInput([INPUTS.TRUE_FALSE]), 'item')).toMatch(/must be an object/);
  });
});
