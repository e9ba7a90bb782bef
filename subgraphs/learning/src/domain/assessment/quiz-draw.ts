/**
 * Which items a quiz attempt gets: a fixed list, or a number of items drawn at random per tag
 * ("pools"). Draws are seeded (the lead passes the attempt id), so an attempt can be drawn again.
 */
import { badInput } from '@coursegraph/service-kit';
import { at, given, integer, list, onlyKnown, record, text, unique, whole } from './input-checks.js';
import { randomFromSeed, shuffle } from './seeded-random.js';

/** How a quiz picks its items: `FIXED` in the listed order, or `POOLS`, `count` items per tag. */
export type QuizDraw =
  { kind: 'FIXED'; itemIds: string[] } | { kind: 'POOLS'; pools: { tag: string; count: number }[] };

/** An item of the bank a quiz draws from. */
export interface BankItem {
  id: string;
  tags: string[];
}

/** Limits of a quiz draw. */
export const QUIZ_DRAW_LIMITS = {
  /** Items in one attempt, fixed or drawn in total. */
  items: 100,
  /** Items drawn from one pool. */
  poolCount: { min: 1, max: 100 },
  /** Pools per quiz. */
  pools: 20,
  /** Characters of a tag. */
  tag: 80,
  /** Characters of an item id (the bank's ids are UUIDs; this only bounds the input). */
  itemId: 100,
} as const;

/**
 * Checks a `QuizDrawInput` (`{ itemIds }` or `{ pools: [{ tag, count }] }`, exactly one of the two).
 * Refuses, naming the field: both or neither given, an empty or repeated item id or tag, a count
 * outside 1..100, more than QUIZ_DRAW_LIMITS.items items in all. `path` prefixes every field name.
 */
export function parseQuizDraw(input: unknown, path = ''): QuizDraw {
  const obj = record(input, whole(path, 'draw'), 'quiz draw');
  onlyKnown(obj, ['itemIds', 'pools'], path, 'QuizDrawInput');
  const hasIds = given(obj.itemIds);
  const hasPools = given(obj.pools);
  if (hasIds && hasPools)
    throw badInput('Give either itemIds (a fixed list) or pools (items drawn by tag), not both.', at(path, 'pools'));
  if (!hasIds && !hasPools)
    throw badInput('Give itemIds (a fixed list) or pools (items drawn by tag).', at(path, 'itemIds'));
  if (hasIds) {
    const field = at(path, 'itemIds');
    const itemIds = list(obj.itemIds, field, { min: 1, max: QUIZ_DRAW_LIMITS.items }).map((id, i) =>
      text(id, at(field, i), { min: 1, max: QUIZ_DRAW_LIMITS.itemId }),
    );
    unique(itemIds, (i) => at(field, i), 'item id');
    return { kind: 'FIXED', itemIds };
  }
  const field = at(path, 'pools');
  const pools = list(obj.pools, field, { min: 1, max: QUIZ_DRAW_LIMITS.pools }).map((raw, i) => {
    const p = record(raw, at(field, i), 'pool');
    onlyKnown(p, ['tag', 'count'], at(field, i), 'PoolInput');
    return {
      tag: text(p.tag, at(at(field, i), 'tag'), { min: 1, max: QUIZ_DRAW_LIMITS.tag }),
      count: integer(p.count, at(at(field, i), 'count'), QUIZ_DRAW_LIMITS.poolCount),
    };
  });
  // One pool per tag: two pools of one tag are one pool with the sum of their counts.
  unique(
    pools.map((p) => p.tag),
    (i) => at(at(field, i), 'tag'),
    'tag',
  );
  const total = pools.reduce((n, p) => n + p.count, 0);
  if (total > QUIZ_DRAW_LIMITS.items)
    throw badInput(`The pools draw ${total} items in all; a quiz has at most ${QUIZ_DRAW_LIMITS.items}.`, field);
  return { kind: 'POOLS', pools };
}

/**
 * The item ids of one attempt, drawn from `bank` with `seed` (the same seed, draw and bank give
 * the same items in the same order).
 * - FIXED: the listed ids in their order; refuses (field `itemIds[i]`) an id not in the bank.
 * - POOLS: for each pool in order, `count` distinct items carrying its tag, in a seeded random
 *   order; no item is drawn by two pools. An item with several pools' tags is given to whichever
 *   pool lets every pool be filled (a bipartite matching), so a draw is refused only when no
 *   assignment exists: field `pools[i].count` of the pool that could not be filled, naming the
 *   pools that compete for too few items.
 */
export function drawItems(draw: QuizDraw, bank: readonly BankItem[], seed: string): string[] {
  const ids = new Set(bank.map((item) => item.id));
  if (draw.kind === 'FIXED') {
    draw.itemIds.forEach((id, i) => {
      if (!ids.has(id)) throw badInput(`Item ${id} is not in this course's item bank.`, `itemIds[${i}]`);
    });
    return [...draw.itemIds];
  }
  const rand = randomFromSeed(`${seed}|pools`);
  const candidates = draw.pools.map((pool, i) => {
    const tagged = [...new Set(bank.filter((item) => item.tags.includes(pool.tag)).map((item) => item.id))];
    if (tagged.length < pool.count) {
      throw badInput(
        `The pool tagged "${pool.tag}" asks for ${pool.count} items, but the bank has ${tagged.length} with that tag.`,
        `pools[${i}].count`,
      );
    }
    return shuffle(tagged, rand);
  });
  const holder = new Map<string, number>();
  const taken: Set<string>[] = draw.pools.map(() => new Set());

  // Kuhn's augmenting path: give `pool` one more item, moving items between pools when that frees one.
  const augment = (pool: number, seenItems: Set<string>, seenPools: Set<number>): boolean => {
    seenPools.add(pool);
    for (const item of candidates[pool] as string[]) {
      if (seenItems.has(item)) continue;
      seenItems.add(item);
      const owner = holder.get(item);
      if (owner === undefined || augment(owner, seenItems, seenPools)) {
        if (owner !== undefined) taken[owner]?.delete(item);
        holder.set(item, pool);
        taken[pool]?.add(item);
        return true;
      }
    }
    return false;
  };

  draw.pools.forEach((pool, i) => {
    for (let k = 0; k < pool.count; k++) {
      const seenItems = new Set<string>();
      const seenPools = new Set<number>();
      if (!augment(i, seenItems, seenPools)) {
        // The pools reached hold every item they could use, and ask for more than that (Hall's condition).
        const competing = [...seenPools].sort((a, b) => a - b);
        const asked = competing.reduce((n, p) => n + (draw.pools[p]?.count ?? 0), 0);
        const tags = competing.map((p) => `"${draw.pools[p]?.tag}"`).join(', ');
        throw badInput(
          `The pools tagged ${tags} ask for ${asked} distinct items, but only ${seenItems.size} items of the bank carry one of these tags.`,
          `pools[${i}].count`,
        );
      }
    }
  });
  return candidates.flatMap((items, i) => items.filter((item) => taken[i]?.has(item)));
}
