/** A valid ItemInput of every type, and helpers to read the refusals the parsers throw. */
import { GraphQLError } from 'graphql';
import { expect } from 'vitest';
import type { ItemType } from '../../src/domain/assessment/item-content.js';

export const INPUTS: Record<ItemType, Record<string, unknown>> = {
  SINGLE_CHOICE: {
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
  },
  MULTIPLE_CHOICE: {
    type: 'MULTIPLE_CHOICE',
    prompt: 'Which are prime?',
    choices: [
      { id: 'a', text: '2' },
      { id: 'b', text: '3' },
      { id: 'c', text: '4' },
      { id: 'd', text: '5' },
      { id: 'e', text: '6' },
      { id: 'f', text: '9' },
    ],
    correctChoiceIds: ['a', 'b', 'd'],
  },
  TRUE_FALSE: { type: 'TRUE_FALSE', prompt: 'Water boils at 100 °C at sea level.', trueFalseAnswer: true },
  NUMERIC: { type: 'NUMERIC', prompt: 'Give π to two decimals.', numericAnswer: 3.14, tolerance: 0.01 },
  SHORT_TEXT: { type: 'SHORT_TEXT', prompt: 'The capital of France?', acceptedAnswers: ['Paris', 'Lutetia'] },
  ORDERING: {
    type: 'ORDERING',
    prompt: 'Order the steps of a build.',
    orderedEntries: [
      { id: 'step1', text: 'Install' },
      { id: 'step2', text: 'Compile' },
      { id: 'step3', text: 'Test' },
      { id: 'step4', text: 'Deploy' },
    ],
  },
  MATCHING: {
    type: 'MATCHING',
    prompt: 'Match countries and capitals.',
    pairs: [
      { id: 'fr', left: 'France', right: 'Paris' },
      { id: 'de', left: 'Germany', right: 'Berlin' },
      { id: 'it', left: 'Italy', right: 'Rome' },
    ],
  },
  CLOZE: {
    type: 'CLOZE',
    prompt: 'Fill in the blanks.',
    clozeText: 'The {{animal}} sat on the {{thing}}.',
    blanks: [
      { id: 'thing', acceptedAnswers: ['mat', 'rug'] },
      { id: 'animal', acceptedAnswers: ['cat'] },
    ],
  },
};

/** A deep copy of a fixture with fields replaced (undefined removes one). */
export function inputWith(type: ItemType, changes: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(INPUTS[type]);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete copy[k];
    else copy[k] = v;
  }
  return copy;
}

/** Runs `fn`, expects a BAD_USER_INPUT refusal naming `field`, and returns its message. */
export function refusal(fn: () => unknown, field: string): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a refusal naming ${field}`).toBeInstanceOf(GraphQLError);
  const err = caught as GraphQLError;
  expect(err.extensions.code).toBe('BAD_USER_INPUT');
  expect(err.extensions.field).toBe(field);
  return err.message;
}
