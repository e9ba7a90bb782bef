/**
 * A learner's review history as the optimiser reads it: their non-undone review_logs grouped by
 * card, oldest first. An undone review never happened as far as FSRS is concerned.
 */
import type { PrismaClient, Tx } from '../data/db.js';
import type { CardHistory } from '../domain/scheduling/optimizer.js';
import { RATINGS } from '../domain/scheduling/scheduler.js';

/** Rows read per query, so a learner with 100k reviews is not one huge result. */
const PAGE = 20_000;

/** The learner's histories and how many reviews they hold. */
export async function loadReviewHistory(
  db: PrismaClient | Tx,
  userId: string,
): Promise<{ histories: CardHistory[]; reviewCount: number }> {
  const byCard = new Map<string, CardHistory>();
  let reviewCount = 0;
  let after: { at: Date; id: string } | null = null;
  for (;;) {
    const cursor: { at: Date; id: string } | null = after;
    const rows: { id: string; cardId: string; rating: number; reviewedAt: Date }[] = await db.reviewLog.findMany({
      where: {
        userId,
        undoneAt: null,
        ...(cursor
          ? { OR: [{ reviewedAt: { gt: cursor.at } }, { reviewedAt: cursor.at, id: { gt: cursor.id } }] }
          : {}),
      },
      select: { id: true, cardId: true, rating: true, reviewedAt: true },
      orderBy: [{ reviewedAt: 'asc' }, { id: 'asc' }],
      take: PAGE,
    });
    for (const row of rows) {
      const rating = RATINGS[row.rating - 1];
      // Ratings are written 1..4 by the review path; anything else is not a review FSRS can read.
      if (!rating) continue;
      const history: CardHistory = byCard.get(row.cardId) ?? { cardId: row.cardId, reviews: [] };
      history.reviews.push({ rating, reviewedAt: row.reviewedAt });
      byCard.set(row.cardId, history);
      reviewCount++;
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1]!;
    after = { at: last.reviewedAt, id: last.id };
  }
  return { histories: [...byCard.values()], reviewCount };
}
