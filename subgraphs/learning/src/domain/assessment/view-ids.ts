/**
 * Per-attempt ids for what a learner sees of ORDERING entries and the right side of MATCHING pairs.
 * The authored ids could give the answer away (entries "step1".."step4", pairs whose right id
 * equals the left id), so learners see random ids drawn from the attempt's seed instead; the same
 * seed gives the same ids again, which is how answers are mapped back without storing anything.
 */
import type { ItemContentOf } from './item-content.js';
import { randomFromSeed, randomInt } from './seeded-random.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Characters of an opaque id: 36^10 ≈ 3.7e15 values, so two ids of one item practically never meet (and are redrawn if they do). */
export const OPAQUE_ID_LENGTH = 10;

/**
 * `count` random ids of OPAQUE_ID_LENGTH lower-case letters and digits, from `seed` and
 * `purpose`, all different from each other and from `avoid`.
 */
export function opaqueIds(count: number, seed: string, purpose: string, avoid: Iterable<string> = []): string[] {
  const rand = randomFromSeed(`${seed}|${purpose}`);
  const taken = new Set(avoid);
  const out: string[] = [];
  while (out.length < count) {
    let id = '';
    for (let i = 0; i < OPAQUE_ID_LENGTH; i++) id += ALPHABET[randomInt(rand, ALPHABET.length)];
    if (taken.has(id)) continue;
    taken.add(id);
    out.push(id);
  }
  return out;
}

/** The learner's ids of an ORDERING item's entries, index for index with `orderedEntries`. */
export function orderingViewIds(content: ItemContentOf<'ORDERING'>, seed: string): string[] {
  const authored = content.orderedEntries.map((e) => e.id);
  return opaqueIds(authored.length, seed, 'entry-ids', authored);
}

/** The learner's ids of a MATCHING item's right sides, index for index with `pairs`; never equal to a left id. */
export function matchingRightIds(content: ItemContentOf<'MATCHING'>, seed: string): string[] {
  const authored = content.pairs.map((p) => p.id);
  return opaqueIds(authored.length, seed, 'right-ids', authored);
}
