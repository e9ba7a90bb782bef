/**
 * Scoring one response against its item. Scores are shares in [0, 1]; an item's points weigh them
 * in a quiz total elsewhere. Partial credit where the answer has parts (MULTIPLE_CHOICE, ORDERING,
 * MATCHING, CLOZE), all-or-nothing otherwise.
 */
import { badInput } from '@coursegraph/service-kit';
import type { ItemContent } from './item-content.js';
import type { ItemResponse } from './item-response.js';
import { matchesAccepted } from './text-normalise.js';

/** The grade of one response: `score` in [0, 1]; `correct` when it is exactly 1. */
export interface ResponseGrade {
  score: number;
  correct: boolean;
}

/**
 * Slack added to a NUMERIC tolerance, relative to the numbers' size: decimal answers are not exact
 * in binary (3.15 − 3.14 is 0.0100000000000002), and without it an answer exactly at the edge of
 * the tolerance would be marked wrong. 1e-9 is far above that rounding and far below any
 * tolerance an author means.
 */
export const NUMERIC_RELATIVE_SLACK = 1e-9;

/**
 * Grades `response` against `content`:
 * - SINGLE_CHOICE, TRUE_FALSE, NUMERIC (|answer − key| ≤ tolerance), SHORT_TEXT (normalised
 *   text equal to an accepted answer): 1 or 0;
 * - MULTIPLE_CHOICE: (right picks − wrong picks) / number of correct choices, floored at 0, so
 *   ticking every box earns nothing unless every box is right;
 * - ORDERING: the share of entries in their right position;
 * - MATCHING: the share of pairs matched right (unmatched left sides count as wrong);
 * - CLOZE: the share of blanks filled with an accepted answer.
 * Refuses (BAD_USER_INPUT) a response of another type than the item.
 */
export function gradeResponse(content: ItemContent, response: ItemResponse): ResponseGrade {
  const score = scoreOf(content, response);
  return { score, correct: score === 1 };
}

function scoreOf(content: ItemContent, response: ItemResponse): number {
  // Each case checks the item's type too, so the key and the answer are read as the same type.
  switch (response.type) {
    case 'SINGLE_CHOICE':
      if (content.type !== 'SINGLE_CHOICE') break;
      return response.choiceIds.length === 1 && content.correctChoiceIds.includes(response.choiceIds[0] as string)
        ? 1
        : 0;
    case 'MULTIPLE_CHOICE': {
      if (content.type !== 'MULTIPLE_CHOICE') break;
      const key = new Set(content.correctChoiceIds);
      const picks = new Set(response.choiceIds);
      let right = 0;
      for (const id of picks) if (key.has(id)) right++;
      return Math.max(0, right - (picks.size - right)) / key.size;
    }
    case 'TRUE_FALSE':
      if (content.type !== 'TRUE_FALSE') break;
      return response.trueFalse === content.trueFalseAnswer ? 1 : 0;
    case 'NUMERIC': {
      if (content.type !== 'NUMERIC') break;
      const slack = NUMERIC_RELATIVE_SLACK * Math.max(1, Math.abs(content.numericAnswer), Math.abs(response.number));
      return Math.abs(response.number - content.numericAnswer) <= content.tolerance + slack ? 1 : 0;
    }
    case 'SHORT_TEXT':
      if (content.type !== 'SHORT_TEXT') break;
      return matchesAccepted(response.text, content.acceptedAnswers) ? 1 : 0;
    case 'ORDERING': {
      if (content.type !== 'ORDERING') break;
      const inPlace = content.orderedEntries.filter((e, i) => response.order[i] === e.id).length;
      return inPlace / content.orderedEntries.length;
    }
    case 'MATCHING': {
      if (content.type !== 'MATCHING') break;
      const chosen = new Map(response.matches.map((m) => [m.leftId, m.rightId]));
      return content.pairs.filter((p) => chosen.get(p.id) === p.id).length / content.pairs.length;
    }
    case 'CLOZE': {
      if (content.type !== 'CLOZE') break;
      const filled = new Map(response.blanks.map((b) => [b.id, b.text]));
      const right = content.blanks.filter((b) => matchesAccepted(filled.get(b.id) ?? '', b.acceptedAnswers)).length;
      return right / content.blanks.length;
    }
  }
  throw badInput(`A ${response.type} answer cannot answer a ${content.type} item.`, 'answer');
}
