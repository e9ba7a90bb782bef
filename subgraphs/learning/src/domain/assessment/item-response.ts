/**
 * A learner's answer to one item: parsing the `AnswerInput` they send against the item it answers,
 * and showing a saved answer back to them. A parsed `ItemResponse` refers to the authored ids (the
 * per-attempt ids of ORDERING and MATCHING are mapped back), so it can be graded and stored as JSON
 * without the seed.
 */
import { badInput } from '@coursegraph/service-kit';
import type { ItemContent, ItemType } from './item-content.js';
import { at, bool, finite, given, identifier, list, onlyKnown, record, text, unique, whole } from './input-checks.js';
import { matchingRightIds, orderingViewIds } from './view-ids.js';

/** Longest typed answer (SHORT_TEXT, each CLOZE blank), in characters. */
export const RESPONSE_TEXT_MAX = 1000;

/** A learner's answer, discriminated on the item's `type`, in authored ids. JSON-serialisable. */
export type ItemResponse =
  | { type: 'SINGLE_CHOICE'; /** exactly one */ choiceIds: string[] }
  | { type: 'MULTIPLE_CHOICE'; /** none or more */ choiceIds: string[] }
  | { type: 'TRUE_FALSE'; trueFalse: boolean }
  | { type: 'NUMERIC'; number: number }
  | { type: 'SHORT_TEXT'; text: string }
  | { type: 'ORDERING'; /** every entry id once, in the learner's order */ order: string[] }
  | {
      type: 'MATCHING';
      /** `rightId` is the id of the pair whose right side the learner chose; unmatched left sides are absent. */
      matches: { leftId: string; rightId: string }[];
    }
  | { type: 'CLOZE'; /** blanks left empty may be absent */ blanks: { id: string; text: string }[] };

/** The `AnswerInput` shape, as sent by a learner and as `answerInputView` gives a saved answer back. */
export interface AnswerInput {
  choiceIds?: string[];
  trueFalse?: boolean;
  number?: number;
  text?: string;
  order?: string[];
  matches?: { leftId: string; rightId: string }[];
  blanks?: { id: string; text: string }[];
}

const ANSWER_FIELD: Record<ItemType, keyof AnswerInput> = {
  SINGLE_CHOICE: 'choiceIds',
  MULTIPLE_CHOICE: 'choiceIds',
  TRUE_FALSE: 'trueFalse',
  NUMERIC: 'number',
  SHORT_TEXT: 'text',
  ORDERING: 'order',
  MATCHING: 'matches',
  CLOZE: 'blanks',
};
const ALL_FIELDS = ['choiceIds', 'trueFalse', 'number', 'text', 'order', 'matches', 'blanks'];

/**
 * Checks a learner's `AnswerInput` against the item it answers and returns the response to store.
 * `seed` is the one the learner's view was made with (`${attemptId}:${itemId}`), needed to map
 * the per-attempt ids of ORDERING and MATCHING. Refuses, with BAD_USER_INPUT naming the field:
 * fields the type does not use, a missing answer field, ids the learner was not shown, repeated
 * ids, an ORDERING answer that does not place every entry exactly once, a SINGLE_CHOICE answer
 * without exactly one choice, and texts over RESPONSE_TEXT_MAX characters. `path` prefixes every
 * field name (e.g. "answer").
 */
export function parseResponse(content: ItemContent, input: unknown, seed: string, path = ''): ItemResponse {
  const obj = record(input, whole(path, 'answer'), 'answer');
  onlyKnown(obj, ALL_FIELDS, path, 'AnswerInput');
  const used = ANSWER_FIELD[content.type];
  for (const field of ALL_FIELDS) {
    if (field !== used && given(obj[field]))
      throw badInput(`${field} is not used by ${content.type} answers; they are given in ${used}.`, at(path, field));
  }
  const field = at(path, used);
  const value = obj[used];
  if (!given(value)) throw badInput(`${content.type} answers need ${used}.`, field);
  const typed = { min: 0, max: RESPONSE_TEXT_MAX };
  switch (content.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE': {
      const limits = content.type === 'SINGLE_CHOICE' ? { min: 1, max: 1 } : { min: 0, max: content.choices.length };
      const ids = knownIds(list(value, field, limits), field, new Set(content.choices.map((c) => c.id)), 'choice');
      return { type: content.type, choiceIds: ids };
    }
    case 'TRUE_FALSE':
      return { type: content.type, trueFalse: bool(value, field) };
    case 'NUMERIC':
      return { type: content.type, number: finite(value, field) };
    case 'SHORT_TEXT':
      return { type: content.type, text: text(value, field, typed) };
    case 'ORDERING': {
      const n = content.orderedEntries.length;
      const viewIds = orderingViewIds(content, seed);
      const toAuthored = new Map(viewIds.map((v, i) => [v, content.orderedEntries[i]?.id as string]));
      const ids = knownIds(list(value, field, { min: n, max: n }), field, new Set(viewIds), 'entry');
      return { type: content.type, order: ids.map((v) => toAuthored.get(v) as string) };
    }
    case 'MATCHING': {
      const rightIds = matchingRightIds(content, seed);
      const toAuthored = new Map(rightIds.map((v, i) => [v, content.pairs[i]?.id as string]));
      const leftIds = new Set(content.pairs.map((p) => p.id));
      const matches = list(value, field, { min: 0, max: content.pairs.length }).map((raw, i) => {
        const m = record(raw, at(field, i), 'match');
        onlyKnown(m, ['leftId', 'rightId'], at(field, i), 'MatchInput');
        const leftId = identifier(m.leftId, at(at(field, i), 'leftId'));
        if (!leftIds.has(leftId))
          throw badInput(`${at(at(field, i), 'leftId')} names no left side of this item.`, at(at(field, i), 'leftId'));
        const rightField = at(at(field, i), 'rightId');
        const rightId = typeof m.rightId === 'string' ? toAuthored.get(m.rightId) : undefined;
        if (rightId === undefined)
          throw badInput(`${rightField} names no right side shown in this attempt.`, rightField);
        return { leftId, rightId };
      });
      unique(
        matches.map((m) => m.leftId),
        (i) => at(at(field, i), 'leftId'),
        'left side',
      );
      // One-to-one: a right side used twice would let one guess cover two pairs.
      unique(
        matches.map((m) => m.rightId),
        (i) => at(at(field, i), 'rightId'),
        'right side',
      );
      return { type: content.type, matches };
    }
    case 'CLOZE': {
      const blankIds = new Set(content.blanks.map((b) => b.id));
      const blanks = list(value, field, { min: 0, max: content.blanks.length }).map((raw, i) => {
        const b = record(raw, at(field, i), 'blank answer');
        onlyKnown(b, ['id', 'text'], at(field, i), 'BlankAnswerInput');
        const id = identifier(b.id, at(at(field, i), 'id'));
        if (!blankIds.has(id))
          throw badInput(`${at(at(field, i), 'id')} names no blank of this item.`, at(at(field, i), 'id'));
        return { id, text: text(b.text, at(at(field, i), 'text'), typed) };
      });
      unique(
        blanks.map((b) => b.id),
        (i) => at(at(field, i), 'id'),
        'blank',
      );
      return { type: content.type, blanks };
    }
  }
}

function knownIds(values: unknown[], field: string, known: Set<string>, what: string): string[] {
  const ids = values.map((v, i) => {
    if (typeof v !== 'string' || !known.has(v))
      throw badInput(`${at(field, i)} names no ${what} shown for this item (${JSON.stringify(v)}).`, at(field, i));
    return v;
  });
  unique(ids, (i) => at(field, i), what);
  return ids;
}

/**
 * A saved response as the learner's client holds it: the `AnswerInput` fields, with ORDERING and
 * MATCHING ids mapped to the per-attempt ids of `learnerView(content, seed)`. Use it to show a
 * learner the answers they saved when they reload an attempt. Refuses a response of another type.
 */
export function answerInputView(content: ItemContent, response: ItemResponse, seed: string): AnswerInput {
  if (response.type !== content.type)
    throw badInput(`The saved answer is for a ${response.type} item, but this item is ${content.type}.`, 'answer');
  switch (response.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE':
      return { choiceIds: [...response.choiceIds] };
    case 'TRUE_FALSE':
      return { trueFalse: response.trueFalse };
    case 'NUMERIC':
      return { number: response.number };
    case 'SHORT_TEXT':
      return { text: response.text };
    case 'ORDERING': {
      if (content.type !== 'ORDERING') break;
      const viewIds = orderingViewIds(content, seed);
      const toView = new Map(content.orderedEntries.map((e, i) => [e.id, viewIds[i] as string]));
      return { order: response.order.map((id) => toView.get(id) ?? id) };
    }
    case 'MATCHING': {
      if (content.type !== 'MATCHING') break;
      const rightIds = matchingRightIds(content, seed);
      const toView = new Map(content.pairs.map((p, i) => [p.id, rightIds[i] as string]));
      return {
        matches: response.matches.map((m) => ({ leftId: m.leftId, rightId: toView.get(m.rightId) ?? m.rightId })),
      };
    }
    case 'CLOZE':
      return { blanks: response.blanks.map((b) => ({ ...b })) };
  }
  throw badInput(`The saved answer does not fit this ${content.type} item.`, 'answer');
}
