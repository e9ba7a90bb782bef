/**
 * What a flashcard shows. A card made from a quiz item asks the item's question and answers with its
 * key; a note's card shows its front and back, or a cloze deletion hidden and then revealed.
 */
import type { ItemContent } from './assessment/item-content.js';
import { clozeFaces } from './cloze.js';

export interface CardFaces {
  front: string;
  back: string;
}

function itemBack(content: ItemContent): string {
  switch (content.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE': {
      const right = new Set(content.correctChoiceIds);
      return content.choices
        .filter((c) => right.has(c.id))
        .map((c) => c.text)
        .join('; ');
    }
    case 'TRUE_FALSE':
      return content.trueFalseAnswer ? 'True' : 'False';
    case 'NUMERIC':
      return content.tolerance > 0
        ? `${content.numericAnswer} (± ${content.tolerance})`
        : String(content.numericAnswer);
    case 'SHORT_TEXT':
      return content.acceptedAnswers[0] ?? '';
    case 'ORDERING':
      return content.orderedEntries.map((e, i) => `${i + 1}. ${e.text}`).join('\n');
    case 'MATCHING':
      return content.pairs.map((p) => `${p.left} → ${p.right}`).join('\n');
    case 'CLOZE':
      return content.blanks.reduce(
        (text, b) => text.replaceAll(`{{${b.id}}}`, b.acceptedAnswers[0] ?? ''),
        content.clozeText,
      );
  }
}

function itemFront(content: ItemContent): string {
  switch (content.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE':
      return [content.prompt, ...content.choices.map((c) => `• ${c.text}`)].join('\n');
    case 'CLOZE':
      return `${content.prompt}\n${content.blanks.reduce((t, b) => t.replaceAll(`{{${b.id}}}`, '[...]'), content.clozeText)}`;
    default:
      return content.prompt;
  }
}

export function itemCardFaces(content: ItemContent): CardFaces {
  const back = itemBack(content);
  return { front: itemFront(content), back: content.explanation ? `${back}\n\n${content.explanation}` : back };
}

export function noteCardFaces(
  note: { kind: 'BASIC' | 'CLOZE'; front: string; back: string; text: string },
  ordinal: number,
): CardFaces {
  return note.kind === 'BASIC' ? { front: note.front, back: note.back } : clozeFaces(note.text, ordinal);
}
