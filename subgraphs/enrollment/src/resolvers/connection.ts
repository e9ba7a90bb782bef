import { badInput, decodeCursor, encodeCursor, isUuid, pageSize, type SqlReads } from '@coursegraph/service-kit';
import type { PrismaClient } from '../generated/prisma/client.js';
import { enrollmentsOfUser } from '../data/hot-reads.js';

/** A user's enrollments, newest first (ids are UUID v7, so id order is enrolment order). */
export async function enrollmentsOf(
  db: PrismaClient,
  sql: SqlReads | null,
  userId: string,
  first: number | null | undefined,
  after: string | null | undefined,
) {
  const take = pageSize(first);
  const afterId = decodeCursor(after);
  if (afterId !== null && !isUuid(afterId)) throw badInput('"after" is not a cursor from this list.', 'after');
  const [rows, totalCount] = sql
    ? await enrollmentsOfUser(sql, userId, afterId, take + 1)
    : await Promise.all([
        db.enrollment.findMany({
          where: { userId, ...(afterId ? { id: { lt: afterId } } : {}) },
          orderBy: { id: 'desc' },
          take: take + 1,
        }),
        db.enrollment.count({ where: { userId } }),
      ]);
  const edges = rows.slice(0, take).map((node) => ({ cursor: encodeCursor(node.id), node }));
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > take, endCursor: edges.at(-1)?.cursor ?? null } };
}
