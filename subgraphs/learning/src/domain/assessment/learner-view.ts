/**
 * What a learner sees of an item before submitting: the question without its answer key or
 * explanation. Orders are shuffled from a seed (the attempt and item), so reloading an attempt
 * shows the same order and another attempt usually another.
 */
import { clozeMarkers, type ItemContent, type ItemType } from './item-content.js';
import { randomFromSeed, shuffle } from './seeded-random.js';
import { matchingRightIds, orderingViewIds } from './view-ids.js';

/** A choice, entry or matching side as shown. */
export interface ViewOption {
  id: string;
  text: string;
}

/** An item as a learner sees it before submission: no answer key, no explanation. JSON-serialisable. */
export interface LearnerItemView {
  type: ItemType;
  prompt: string;
  points: number;
  /** SINGLE_CHOICE, MULTIPLE_CHOICE: the choices, shuffled, with their authored ids. */
  choices?: ViewOption[];
  /** ORDERING: the entries, shuffled, with per-attempt ids (see view-ids.ts). */
  entries?: ViewOption[];
  /** MATCHING: the left sides in authored order, with the pair ids. */
  left?: ViewOption[];
  /** MATCHING: the right sides, shuffled, with per-attempt ids that are never a left id. */
  right?: ViewOption[];
  /** CLOZE: the text with its {{blankId}} markers. */
  clozeText?: string;
  /** CLOZE: the blank ids in the order they appear in the text. */
  blankIds?: string[];
}

/**
 * The learner's view of `content` for one attempt. `seed` should be `${attemptId}:${itemId}`: the
 * same seed always gives the same view. Shuffles are uniform (a shuffle may leave the authored
 * order, with probability 1/n!): skipping that order would itself tell the learner something.
 */
export function learnerView(content: ItemContent, seed: string): LearnerItemView {
  const view: LearnerItemView = { type: content.type, prompt: content.prompt, points: content.points };
  switch (content.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE':
      view.choices = shuffle(content.choices, randomFromSeed(`${seed}|choices`)).map(({ id, text }) => ({ id, text }));
      break;
    case 'ORDERING': {
      const ids = orderingViewIds(content, seed);
      const entries = content.orderedEntries.map((e, i) => ({ id: ids[i] as string, text: e.text }));
      view.entries = shuffle(entries, randomFromSeed(`${seed}|entries`));
      break;
    }
    case 'MATCHING': {
      const ids = matchingRightIds(content, seed);
      view.left = content.pairs.map((p) => ({ id: p.id, text: p.left }));
      const right = content.pairs.map((p, i) => ({ id: ids[i] as string, text: p.right }));
      view.right = shuffle(right, randomFromSeed(`${seed}|right`));
      break;
    }
    case 'CLOZE':
      view.clozeText = content.clozeText;
      view.blankIds = clozeMarkers(content.clozeText);
      break;
    case 'TRUE_FALSE':
    case 'NUMERIC':
    case 'SHORT_TEXT':
      break;
  }
  return view;
}
