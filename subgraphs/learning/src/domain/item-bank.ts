/** A course's item bank as drafted, a page at a time (instructors and admins; the caller checks). */
import { decodeCursor, encodeCursor, pageSize } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import { requireId } from './access.js';

export async function itemBank(
  db: PrismaClient,
  courseId: string,
  args: { first?: number | null; after?: string | null },
) {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after);
  if (after !== null) requireId(after, 'after');
  const where = { courseId, deletedAt: null };
  const [rows, totalCount] = await Promise.all([
    db.item.findMany({
      where: after ? { ...where, id: { gt: after } } : where,
      orderBy: { id: 'asc' },
      take: first + 1,
    }),
    db.item.count({ where }),
  ]);
  const page = rows.slice(0, first);
  return {
    edges: page.map((node) => ({ cursor: encodeCursor(node.id), node })),
    pageInfo: { hasNextPage: rows.length > first, endCursor: page.length ? encodeCursor(page.at(-1)!.id) : null },
    totalCount,
  };
}
