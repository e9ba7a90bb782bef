/**
 * Question items as authored: the eight types, what each stores (prompt, explanation, points and
 * the answer key) and the parsing of the instructor's `ItemInput` into it. `ItemContent` is plain
 * JSON, stored as is in a jsonb column; field names are those of `ItemInput`, so a stored item can
 * be handed back to its author for editing unchanged.
 */
import { badInput } from '@coursegraph/service-kit';
import {
  at,
  bool,
  finite,
  given,
  identifier,
  integer,
  list,
  onlyKnown,
  record,
  text,
  unique,
  whole,
} from './input-checks.js';
import { normaliseAnswerText } from './text-normalise.js';

/** The question types, in the order an authoring UI offers them. */
export const ITEM_TYPES = [
  'SINGLE_CHOICE',
  'MULTIPLE_CHOICE',
  'TRUE_FALSE',
  'NUMERIC',
  'SHORT_TEXT',
  'ORDERING',
  'MATCHING',
  'CLOZE',
] as const;
/** One of ITEM_TYPES. */
export type ItemType = (typeof ITEM_TYPES)[number];

/** Limits of authored items; text lengths are in characters (code points), after trimming. */
export const ITEM_LIMITS = {
  prompt: 4000,
  explanation: 4000,
  /** A choice, an ordering entry, either side of a pair. */
  optionText: 500,
  /** Choices, ordering entries and matching pairs per item. */
  options: { min: 2, max: 12 },
  acceptedAnswers: { min: 1, max: 20 },
  acceptedAnswer: 500,
  clozeText: 4000,
  blanks: { min: 1, max: 20 },
  points: { min: 1, max: 100 },
} as const;

/** Points of an item when the author gives none. */
export const DEFAULT_POINTS = 1;

/** A choice of a choice item, or an entry of an ORDERING item. */
export interface ItemOption {
  id: string;
  text: string;
}
/** A MATCHING pair: `left` is matched with `right`. */
export interface MatchingPair {
  id: string;
  left: string;
  right: string;
}
/** A CLOZE blank, `{{id}}` in the text, and the answers accepted for it (compared normalised). */
export interface ClozeBlank {
  id: string;
  acceptedAnswers: string[];
}

interface ItemCommon {
  prompt: string;
  /** Shown to the learner after submission; null when the author wrote none. */
  explanation: string | null;
  /** Weight of the item in a quiz, 1..100 (default 1). */
  points: number;
}

/** An authored item with its answer key, discriminated on `type`. JSON-serialisable. */
export type ItemContent =
  | (ItemCommon & { type: 'SINGLE_CHOICE'; choices: ItemOption[]; /** exactly one */ correctChoiceIds: string[] })
  | (ItemCommon & { type: 'MULTIPLE_CHOICE'; choices: ItemOption[]; /** one or more */ correctChoiceIds: string[] })
  | (ItemCommon & { type: 'TRUE_FALSE'; trueFalseAnswer: boolean })
  | (ItemCommon & {
      type: 'NUMERIC';
      numericAnswer: number;
      /** Absolute: answers within numericAnswer ± tolerance are right (inclusive); 0 means exact. */
      tolerance: number;
    })
  | (ItemCommon & { type: 'SHORT_TEXT'; acceptedAnswers: string[] })
  | (ItemCommon & { type: 'ORDERING'; /** in their correct order */ orderedEntries: ItemOption[] })
  | (ItemCommon & { type: 'MATCHING'; pairs: MatchingPair[] })
  | (ItemCommon & { type: 'CLOZE'; clozeText: string; blanks: ClozeBlank[] });

/** The content of one item type. */
export type ItemContentOf<T extends ItemType> = Extract<ItemContent, { type: T }>;

const COMMON_FIELDS = ['type', 'prompt', 'explanation', 'points'] as const;
/** The answer fields each type uses; every other answer field must be absent. */
const ANSWER_FIELDS: Record<ItemType, readonly string[]> = {
  SINGLE_CHOICE: ['choices', 'correctChoiceIds'],
  MULTIPLE_CHOICE: ['choices', 'correctChoiceIds'],
  TRUE_FALSE: ['trueFalseAnswer'],
  NUMERIC: ['numericAnswer', 'tolerance'],
  SHORT_TEXT: ['acceptedAnswers'],
  ORDERING: ['orderedEntries'],
  MATCHING: ['pairs'],
  CLOZE: ['clozeText', 'blanks'],
};
const OPTIONAL_ANSWER_FIELDS = ['tolerance'];
const ALL_ANSWER_FIELDS = [...new Set(Object.values(ANSWER_FIELDS).flat())];

/** True when `value` names a question type. */
export const isItemType = (value: unknown): value is ItemType => ITEM_TYPES.includes(value as ItemType);

/**
 * Checks an instructor's `ItemInput` and returns the item to store. Refuses (BAD_USER_INPUT with
 * `extensions.field` set to the offending path, e.g. "choices[2].id") unknown fields, fields the
 * type does not use, missing ones, ids outside 1..40 of [A-Za-z0-9_-], repeated ids, texts that
 * are empty or too long (ITEM_LIMITS), and answer keys that do not fit their choices or blanks.
 * Texts are trimmed; `path` prefixes every field name (e.g. "input").
 */
export function parseItemInput(input: unknown, path = ''): ItemContent {
  const obj = record(input, whole(path, 'item'), 'item');
  onlyKnown(obj, [...COMMON_FIELDS, ...ALL_ANSWER_FIELDS], path, 'ItemInput');
  const type = obj.type;
  if (!isItemType(type))
    throw badInput(
      `${at(path, 'type')} must be one of ${ITEM_TYPES.join(', ')} (got ${JSON.stringify(type)}).`,
      at(path, 'type'),
    );
  for (const field of ALL_ANSWER_FIELDS) {
    if (given(obj[field]) && !ANSWER_FIELDS[type].includes(field))
      throw badInput(`${field} is not used by ${type} items.`, at(path, field));
  }
  for (const field of ANSWER_FIELDS[type]) {
    if (!given(obj[field]) && !OPTIONAL_ANSWER_FIELDS.includes(field))
      throw badInput(`${type} items need ${field}.`, at(path, field));
  }
  const common: ItemCommon = {
    prompt: text(obj.prompt, at(path, 'prompt'), { min: 1, max: ITEM_LIMITS.prompt }),
    explanation: given(obj.explanation)
      ? text(obj.explanation, at(path, 'explanation'), { min: 0, max: ITEM_LIMITS.explanation }) || null
      : null,
    points: given(obj.points) ? integer(obj.points, at(path, 'points'), ITEM_LIMITS.points) : DEFAULT_POINTS,
  };
  switch (type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE': {
      const choices = options(obj.choices, at(path, 'choices'));
      return { type, ...common, choices, correctChoiceIds: correctIds(type, obj.correctChoiceIds, choices, path) };
    }
    case 'TRUE_FALSE':
      return { type, ...common, trueFalseAnswer: bool(obj.trueFalseAnswer, at(path, 'trueFalseAnswer')) };
    case 'NUMERIC': {
      const tolerance = given(obj.tolerance) ? finite(obj.tolerance, at(path, 'tolerance')) : 0;
      if (tolerance < 0)
        throw badInput(`${at(path, 'tolerance')} must be 0 or more (got ${tolerance}).`, at(path, 'tolerance'));
      return { type, ...common, numericAnswer: finite(obj.numericAnswer, at(path, 'numericAnswer')), tolerance };
    }
    case 'SHORT_TEXT':
      return { type, ...common, acceptedAnswers: acceptedAnswers(obj.acceptedAnswers, at(path, 'acceptedAnswers')) };
    case 'ORDERING':
      return { type, ...common, orderedEntries: options(obj.orderedEntries, at(path, 'orderedEntries')) };
    case 'MATCHING':
      return { type, ...common, pairs: pairs(obj.pairs, at(path, 'pairs')) };
    case 'CLOZE': {
      const clozeText = text(obj.clozeText, at(path, 'clozeText'), { min: 1, max: ITEM_LIMITS.clozeText });
      return { type, ...common, clozeText, blanks: blanks(obj.blanks, clozeText, path) };
    }
  }
}

function options(value: unknown, field: string): ItemOption[] {
  const out = list(value, field, ITEM_LIMITS.options).map((raw, i) => {
    const o = record(raw, at(field, i), 'option');
    onlyKnown(o, ['id', 'text'], at(field, i), 'ChoiceInput');
    return {
      id: identifier(o.id, at(at(field, i), 'id')),
      text: text(o.text, at(at(field, i), 'text'), { min: 1, max: ITEM_LIMITS.optionText }),
    };
  });
  unique(
    out.map((o) => o.id),
    (i) => at(at(field, i), 'id'),
    'id',
  );
  // Two options a learner cannot tell apart would make the answer a guess.
  unique(
    out.map((o) => o.text),
    (i) => at(at(field, i), 'text'),
    'text',
  );
  return out;
}

function correctIds(
  type: 'SINGLE_CHOICE' | 'MULTIPLE_CHOICE',
  value: unknown,
  choices: ItemOption[],
  path: string,
): string[] {
  const field = at(path, 'correctChoiceIds');
  const ids = list(value, field, type === 'SINGLE_CHOICE' ? { min: 1, max: 1 } : { min: 1, max: choices.length }).map(
    (id, i) => identifier(id, at(field, i)),
  );
  const known = new Set(choices.map((c) => c.id));
  ids.forEach((id, i) => {
    if (!known.has(id))
      throw badInput(`${at(field, i)} names no choice of this item (${JSON.stringify(id)}).`, at(field, i));
  });
  unique(ids, (i) => at(field, i), 'choice id');
  return ids;
}

function acceptedAnswers(value: unknown, field: string): string[] {
  const answers = list(value, field, ITEM_LIMITS.acceptedAnswers).map((raw, i) => {
    const answer = text(raw, at(field, i), { min: 1, max: ITEM_LIMITS.acceptedAnswer });
    if (normaliseAnswerText(answer) === '')
      throw badInput(
        `${at(field, i)} is only punctuation or invisible characters, so no answer could match it.`,
        at(field, i),
      );
    return answer;
  });
  // Spelling variants that normalise alike are one answer; saying so shows the author what is ignored.
  unique(answers.map(normaliseAnswerText), (i) => at(field, i), 'normalised answer (case, spacing, final punctuation)');
  return answers;
}

function pairs(value: unknown, field: string): MatchingPair[] {
  const out = list(value, field, ITEM_LIMITS.options).map((raw, i) => {
    const p = record(raw, at(field, i), 'pair');
    onlyKnown(p, ['id', 'left', 'right'], at(field, i), 'PairInput');
    const limits = { min: 1, max: ITEM_LIMITS.optionText };
    return {
      id: identifier(p.id, at(at(field, i), 'id')),
      left: text(p.left, at(at(field, i), 'left'), limits),
      right: text(p.right, at(at(field, i), 'right'), limits),
    };
  });
  unique(
    out.map((p) => p.id),
    (i) => at(at(field, i), 'id'),
    'id',
  );
  // Matching is one-to-one: two equal sides would make either pairing look right.
  unique(
    out.map((p) => p.left),
    (i) => at(at(field, i), 'left'),
    'text',
  );
  unique(
    out.map((p) => p.right),
    (i) => at(at(field, i), 'right'),
    'text',
  );
  return out;
}

const MARKER = /\{\{([^{}]*)\}\}/g;
const MARKER_ID = /^[A-Za-z0-9_-]{1,40}$/;

/** The blank ids of a cloze text, in the order they appear. */
export function clozeMarkers(clozeText: string): string[] {
  return [...clozeText.matchAll(MARKER)].map((m) => m[1] as string);
}

function blanks(value: unknown, clozeText: string, path: string): ClozeBlank[] {
  const textField = at(path, 'clozeText');
  const field = at(path, 'blanks');
  const markers = clozeMarkers(clozeText);
  for (const id of markers) {
    if (!MARKER_ID.test(id))
      throw badInput(
        `${textField} has the marker {{${id}}}; a blank id is 1 to 40 letters, digits, "_" or "-", without spaces.`,
        textField,
      );
  }
  if (clozeText.replace(MARKER, '').match(/\{\{|\}\}/))
    throw badInput(`${textField} has a "{{" or "}}" that is not part of a {{blankId}} marker.`, textField);
  if (markers.length === 0) throw badInput(`${textField} has no {{blankId}} marker.`, textField);
  const repeated = markers.find((id, i) => markers.indexOf(id) !== i);
  if (repeated !== undefined)
    throw badInput(`${textField} has the marker {{${repeated}}} twice; each blank appears once.`, textField);
  const out = list(value, field, ITEM_LIMITS.blanks).map((raw, i) => {
    const b = record(raw, at(field, i), 'blank');
    onlyKnown(b, ['id', 'acceptedAnswers'], at(field, i), 'BlankInput');
    return {
      id: identifier(b.id, at(at(field, i), 'id')),
      acceptedAnswers: acceptedAnswers(b.acceptedAnswers, at(at(field, i), 'acceptedAnswers')),
    };
  });
  unique(
    out.map((b) => b.id),
    (i) => at(at(field, i), 'id'),
    'id',
  );
  const inText = new Set(markers);
  out.forEach((b, i) => {
    if (!inText.has(b.id))
      throw badInput(
        `${at(at(field, i), 'id')} is "${b.id}", but ${textField} has no {{${b.id}}} marker.`,
        at(at(field, i), 'id'),
      );
  });
  const defined = new Set(out.map((b) => b.id));
  for (const id of markers) {
    if (!defined.has(id))
      throw badInput(`${textField} has the marker {{${id}}}, but blanks has no blank "${id}".`, field);
  }
  return out;
}
