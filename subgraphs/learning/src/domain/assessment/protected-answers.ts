/**
 * The answers of an item as text, which the tutor (ai) must not state while a learner's attempt at
 * it is open (learning.attempt.started). Only answers a sentence could give away are listed:
 * true/false keys are left out (the words are in every reply), and so are orderings, whose answer is
 * a sequence rather than a phrase.
 */
import type { ItemContent } from './item-content.js';

export function protectedAnswers(content: ItemContent): string[] {
  switch (content.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE': {
      const right = new Set(content.correctChoiceIds);
      return content.choices.filter((c) => right.has(c.id)).map((c) => c.text);
    }
    case 'NUMERIC':
      return [String(content.numericAnswer)];
    case 'SHORT_TEXT':
      return [...content.acceptedAnswers];
    case 'MATCHING':
      return content.pairs.map((p) => p.right);
    case 'CLOZE':
      return content.blanks.flatMap((b) => b.acceptedAnswers);
    case 'TRUE_FALSE':
    case 'ORDERING':
      return [];
  }
}
