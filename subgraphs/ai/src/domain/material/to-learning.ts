/**
 * An accepted candidate → the exact input learning's createNote or createItem takes
 * (subgraphs/learning/src/learning.graphql: CreateNoteInput, CreateItemInput), so the event that carries
 * an approved item to learning carries that input unchanged. The types restate learning's SDL: a context
 * never imports another's code.
 */
import type { BasicCard, ClozeCard, MaterialCandidate, SingleChoiceItem } from './candidate.js';

/** learning's CreateNoteInput: a BASIC note has front and back, a CLOZE note has text. */
export type CreateNoteInput =
  | { courseId: string; kind: 'BASIC'; front: string; back: string; conceptIds?: string[] }
  | { courseId: string; kind: 'CLOZE'; text: string; conceptIds?: string[] };

/** learning's ItemInput, for a SINGLE_CHOICE item. */
export interface SingleChoiceItemInput {
  type: 'SINGLE_CHOICE';
  prompt: string;
  explanation?: string;
  choices: { id: string; text: string }[];
  correctChoiceIds: [string];
}

/** learning's CreateItemInput. */
export interface CreateItemInput {
  courseId: string;
  item: SingleChoiceItemInput;
  tags?: string[];
  conceptIds?: string[];
}

export type LearningDraft = { target: 'NOTE'; input: CreateNoteInput } | { target: 'ITEM'; input: CreateItemInput };

export interface DraftOptions {
  /** Concepts of the course the material is about, when the lead knows them. */
  conceptIds?: string[];
  /** Item pools (learning: 1..40 characters each, at most 10); items only. */
  tags?: string[];
}

export function toCreateNoteInput(
  card: BasicCard | ClozeCard,
  courseId: string,
  options: DraftOptions = {},
): CreateNoteInput {
  const concepts = options.conceptIds?.length ? { conceptIds: options.conceptIds } : {};
  return card.kind === 'BASIC'
    ? { courseId, kind: 'BASIC', front: card.front, back: card.back, ...concepts }
    : { courseId, kind: 'CLOZE', text: card.text, ...concepts };
}

/** Choice ids are a, b, c, … in the candidate's order (learning's ids: 1..40 of [A-Za-z0-9_-]). */
export function toCreateItemInput(
  item: SingleChoiceItem,
  courseId: string,
  options: DraftOptions = {},
): CreateItemInput {
  const choices = item.choices.map((text, i) => ({ id: String.fromCharCode(97 + i), text }));
  return {
    courseId,
    item: {
      type: 'SINGLE_CHOICE',
      prompt: item.prompt,
      // Shown after submission: the lesson's own words, which is where the answer comes from.
      explanation: `From the lesson: “${item.quote.replace(/\s+/g, ' ').trim()}”`,
      choices,
      correctChoiceIds: [choices[item.correctIndex]!.id],
    },
    ...(options.tags?.length ? { tags: options.tags } : {}),
    ...(options.conceptIds?.length ? { conceptIds: options.conceptIds } : {}),
  };
}

/** An accepted candidate as the learning draft it becomes: a note for a flashcard, an item for a question. */
export function toLearningDraft(
  candidate: MaterialCandidate,
  courseId: string,
  options: DraftOptions = {},
): LearningDraft {
  return 'type' in candidate
    ? { target: 'ITEM', input: toCreateItemInput(candidate, courseId, options) }
    : { target: 'NOTE', input: toCreateNoteInput(candidate, courseId, options) };
}

/**
 * What the MaterialApproved event's `input_json` carries (schema/events/coursegraph/ai/v1/ai.proto): a
 * flashcard's CreateNoteInput fields without courseId, or a quiz item's ItemInput. The event names the
 * course itself.
 */
export function approvedInput(
  candidate: MaterialCandidate,
):
  | Omit<Extract<CreateNoteInput, { kind: 'BASIC' }>, 'courseId'>
  | Omit<Extract<CreateNoteInput, { kind: 'CLOZE' }>, 'courseId'>
  | SingleChoiceItemInput {
  const draft = toLearningDraft(candidate, '');
  if (draft.target === 'ITEM') return draft.input.item;
  const { courseId: _courseId, ...fields } = draft.input;
  return fields;
}
