/**
 * The drafts checked against what learning accepts. Tests may not import another package's code, so
 * learning's rules are restated here from subgraphs/learning/src/domain/assessment/item-content.ts
 * (parseItemInput: SINGLE_CHOICE), its input-checks.ts, and domain/cloze.ts; an end-to-end test through
 * learning's createItem and createNote is what proves them against the real thing.
 */
import { describe, expect, it } from 'vitest';
import { flashcardCandidates, quizItemCandidates } from '../../src/domain/material/deterministic.js';
import { approvedInput, toLearningDraft } from '../../src/domain/material/to-learning.js';
import { validateMaterial } from '../../src/domain/material/validate.js';
import { DATA_STRUCTURES, PHOTOSYNTHESIS } from './lessons.js';

const COURSE = 'course-1';

// learning: item-content.ts ITEM_LIMITS and input-checks.ts ID_PATTERN.
const LEARNING = { prompt: 4000, explanation: 4000, optionText: 500, options: { min: 2, max: 12 }, noteText: 4000 };
const ID_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;
// learning: cloze.ts.
const DELETION = /\{\{c(\d{1,2})::(.*?)(?:::(.*?))?\}\}/g;
const clozeOrdinals = (text: string) => [...new Set([...text.matchAll(DELETION)].map((m) => Number(m[1])))];
const clozeFaces = (text: string, ordinal: number) => ({
  front: text.replace(DELETION, (_m, n: string, answer: string, hint?: string) =>
    Number(n) === ordinal ? `[${hint ?? '...'}]` : answer,
  ),
  back: text.replace(DELETION, (_m, _n: string, answer: string) => answer),
});

/** What learning's parseItemInput requires of a SINGLE_CHOICE ItemInput, as assertions. */
function expectLearningAccepts(item: Record<string, any>) {
  expect(Object.keys(item).sort()).toEqual(['choices', 'correctChoiceIds', 'explanation', 'prompt', 'type']);
  expect(item.type).toBe('SINGLE_CHOICE');
  for (const [field, max] of [
    ['prompt', LEARNING.prompt],
    ['explanation', LEARNING.explanation],
  ] as const) {
    expect(item[field].trim()).toBe(item[field]);
    expect(item[field].length).toBeGreaterThan(0);
    expect(item[field].length).toBeLessThanOrEqual(max);
  }
  expect(item.choices.length).toBeGreaterThanOrEqual(LEARNING.options.min);
  expect(item.choices.length).toBeLessThanOrEqual(LEARNING.options.max);
  for (const choice of item.choices) {
    expect(Object.keys(choice).sort()).toEqual(['id', 'text']);
    expect(choice.id).toMatch(ID_PATTERN);
    expect(choice.text.trim()).toBe(choice.text);
    expect(choice.text.length).toBeGreaterThan(0);
    expect(choice.text.length).toBeLessThanOrEqual(LEARNING.optionText);
  }
  expect(new Set(item.choices.map((c: any) => c.id)).size).toBe(item.choices.length);
  expect(new Set(item.choices.map((c: any) => c.text)).size).toBe(item.choices.length);
  expect(item.correctChoiceIds).toHaveLength(1);
  expect(item.choices.map((c: any) => c.id)).toContain(item.correctChoiceIds[0]);
}
const passages = [...DATA_STRUCTURES, ...PHOTOSYNTHESIS];
const accepted = validateMaterial(
  [
    ...flashcardCandidates({ kind: 'FLASHCARD_EXTRACTION', lessonTitle: 'L', passages, max: 50 }),
    ...quizItemCandidates({ kind: 'QUIZ_GENERATION', lessonTitle: 'L', passages, max: 50 }),
  ],
  { passages },
).accepted;

describe('toLearningDraft', () => {
  it('turns every accepted quiz item into an ItemInput learning accepts, with the right answer', () => {
    const items = accepted.flatMap((c) => ('type' in c ? [c] : []));
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) {
      const draft = toLearningDraft(item, COURSE, { tags: ['generated'] });
      if (draft.target !== 'ITEM') throw new Error('a quiz item must become an item');
      expect(draft.input.courseId).toBe(COURSE);
      expect(draft.input.tags).toEqual(['generated']);
      const parsed = draft.input.item;
      expectLearningAccepts(parsed);
      expect(parsed.choices.map((c) => c.text)).toEqual(item.choices);
      const right = parsed.choices.find((c) => c.id === parsed.correctChoiceIds[0]);
      expect(right?.text).toBe(item.choices[item.correctIndex]);
      expect(parsed.explanation).toContain(item.quote.replace(/\s+/g, ' ').trim());
    }
  });

  it('turns cloze cards into CLOZE notes of one card whose back is the quote, and basic cards into BASIC notes', () => {
    const cards = accepted.flatMap((c) => ('kind' in c ? [c] : []));
    expect(cards.length).toBeGreaterThan(10);
    for (const card of cards) {
      const draft = toLearningDraft(card, COURSE);
      if (draft.target !== 'NOTE') throw new Error('a card must become a note');
      const input = draft.input;
      expect(Object.keys(input).sort()).toEqual(
        input.kind === 'BASIC' ? ['back', 'courseId', 'front', 'kind'] : ['courseId', 'kind', 'text'],
      );
      if (input.kind === 'CLOZE' && card.kind === 'CLOZE') {
        expect(input.text.length).toBeLessThanOrEqual(LEARNING.noteText);
        expect(clozeOrdinals(input.text)).toEqual([1]);
        expect(clozeFaces(input.text, 1).back).toBe(card.quote);
        expect(clozeFaces(input.text, 1).front).toContain('[...]');
      } else if (input.kind === 'BASIC' && card.kind === 'BASIC') {
        expect([input.front, input.back]).toEqual([card.front, card.back]);
        expect(Math.max(input.front.length, input.back.length)).toBeLessThanOrEqual(LEARNING.noteText);
      } else throw new Error(`${card.kind} became ${input.kind}`);
    }
  });

  it('passes concept ids through when given', () => {
    const card = accepted.find((c) => 'kind' in c)!;
    const draft = toLearningDraft(card, COURSE, { conceptIds: ['concept-7'] });
    expect(draft.input.conceptIds).toEqual(['concept-7']);
  });
});

describe('approvedInput', () => {
  it("is a note's fields without courseId, or an item's ItemInput, as the MaterialApproved event carries them", () => {
    const card = accepted.find((c) => 'kind' in c && c.kind === 'CLOZE')!;
    const item = accepted.find((c) => 'type' in c)!;
    expect(approvedInput(card)).toEqual({ kind: 'CLOZE', text: (card as any).text });
    const itemInput = approvedInput(item) as any;
    expectLearningAccepts(itemInput);
    expect(itemInput).toEqual((toLearningDraft(item, COURSE).input as any).item);
  });
});
