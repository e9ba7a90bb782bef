/** After submission a learner sees the key and the explanation, in the ids their view used when a seed is given. */
import { describe, expect, it } from 'vitest';
import { parseItemInput } from '../../src/domain/assessment/item-content.js';
import { correctAnswerView } from '../../src/domain/assessment/correct-answer-view.js';
import { learnerView } from '../../src/domain/assessment/learner-view.js';
import { INPUTS } from './fixtures.js';

describe('correctAnswerView', () => {
  it('shows the key and explanation of choice, numeric and text items', () => {
    expect(correctAnswerView(parseItemInput(INPUTS.SINGLE_CHOICE))).toEqual({
      type: 'SINGLE_CHOICE',
      explanation: 'Jupiter has over 300 Earth masses.',
      correctChoiceIds: ['jupiter'],
    });
    expect(correctAnswerView(parseItemInput(INPUTS.NUMERIC))).toEqual({
      type: 'NUMERIC',
      explanation: null,
      numericAnswer: 3.14,
      tolerance: 0.01,
    });
    expect(correctAnswerView(parseItemInput(INPUTS.SHORT_TEXT)).acceptedAnswers).toEqual(['Paris', 'Lutetia']);
    expect(correctAnswerView(parseItemInput(INPUTS.TRUE_FALSE)).trueFalseAnswer).toBe(true);
    expect(correctAnswerView(parseItemInput(INPUTS.CLOZE)).blanks).toEqual([
      { id: 'thing', acceptedAnswers: ['mat', 'rug'] },
      { id: 'animal', acceptedAnswers: ['cat'] },
    ]);
  });

  it('shows ORDERING and MATCHING keys in the per-attempt ids of the learner view when given the seed', () => {
    const seed = 'attempt-3:item-5';
    const ordering = parseItemInput(INPUTS.ORDERING);
    const entries = learnerView(ordering, seed).entries ?? [];
    const byText = new Map(entries.map((e) => [e.text, e.id]));
    expect(correctAnswerView(ordering, seed).orderedEntries).toEqual(
      ['Install', 'Compile', 'Test', 'Deploy'].map((text) => ({ id: byText.get(text), text })),
    );
    expect(correctAnswerView(ordering).orderedEntries?.map((e) => e.id)).toEqual(['step1', 'step2', 'step3', 'step4']);

    const matching = parseItemInput(INPUTS.MATCHING);
    const right = new Map((learnerView(matching, seed).right ?? []).map((r) => [r.text, r.id]));
    expect(correctAnswerView(matching, seed).pairs).toEqual([
      { leftId: 'fr', left: 'France', rightId: right.get('Paris'), right: 'Paris' },
      { leftId: 'de', left: 'Germany', rightId: right.get('Berlin'), right: 'Berlin' },
      { leftId: 'it', left: 'Italy', rightId: right.get('Rome'), right: 'Rome' },
    ]);
  });
});
