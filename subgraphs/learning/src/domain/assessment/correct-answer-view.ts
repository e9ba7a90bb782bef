/**
 * What a learner may see of an item's key AFTER submitting: the right answer and the explanation.
 * Never call it for an attempt still in progress (see learner-view.ts for that).
 */
import type { ItemContent, ItemType } from './item-content.js';
import { matchingRightIds, orderingViewIds } from './view-ids.js';

/** An item's answer key and explanation, for after submission. JSON-serialisable. */
export interface CorrectAnswerView {
  type: ItemType;
  explanation: string | null;
  /** SINGLE_CHOICE, MULTIPLE_CHOICE. */
  correctChoiceIds?: string[];
  /** TRUE_FALSE. */
  trueFalseAnswer?: boolean;
  /** NUMERIC: right answers are numericAnswer ± tolerance. */
  numericAnswer?: number;
  tolerance?: number;
  /** SHORT_TEXT: the accepted answers as authored (matched case-, spacing- and final-punctuation-insensitively). */
  acceptedAnswers?: string[];
  /** ORDERING: the entries in their correct order. */
  orderedEntries?: { id: string; text: string }[];
  /** MATCHING: each left side with its right side. */
  pairs?: { leftId: string; left: string; rightId: string; right: string }[];
  /** CLOZE: each blank's accepted answers. */
  blanks?: { id: string; acceptedAnswers: string[] }[];
}

/**
 * The key of `content` as a learner may see it after submission. With `seed` (the one of the
 * learner's view), ORDERING entry ids and MATCHING right ids are the per-attempt ids the learner
 * saw, so a client can mark its own answer; without it they are the authored ids.
 */
export function correctAnswerView(content: ItemContent, seed?: string): CorrectAnswerView {
  const view: CorrectAnswerView = { type: content.type, explanation: content.explanation };
  switch (content.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE':
      view.correctChoiceIds = [...content.correctChoiceIds];
      break;
    case 'TRUE_FALSE':
      view.trueFalseAnswer = content.trueFalseAnswer;
      break;
    case 'NUMERIC':
      view.numericAnswer = content.numericAnswer;
      view.tolerance = content.tolerance;
      break;
    case 'SHORT_TEXT':
      view.acceptedAnswers = [...content.acceptedAnswers];
      break;
    case 'ORDERING': {
      const ids = seed === undefined ? content.orderedEntries.map((e) => e.id) : orderingViewIds(content, seed);
      view.orderedEntries = content.orderedEntries.map((e, i) => ({ id: ids[i] as string, text: e.text }));
      break;
    }
    case 'MATCHING': {
      const ids = seed === undefined ? content.pairs.map((p) => p.id) : matchingRightIds(content, seed);
      view.pairs = content.pairs.map((p, i) => ({
        leftId: p.id,
        left: p.left,
        rightId: ids[i] as string,
        right: p.right,
      }));
      break;
    }
    case 'CLOZE':
      view.blanks = content.blanks.map((b) => ({ id: b.id, acceptedAnswers: [...b.acceptedAnswers] }));
      break;
  }
  return view;
}
