/** The in-app inbox: a user reads and changes only their own notifications. */
import { badInput, decodeCursor, encodeCursor, isUuid, notFound, pageSize } from '@coursegraph/service-kit';
import type { Notification, PrismaClient } from '../generated/prisma/client.js';

/** A user's notifications, newest first (ids are UUID v7, so id order is creation order). */
export async function notificationsOf(
  db: PrismaClient,
  userId: string,
  args: { first?: number | null; after?: string | null; unreadOnly?: boolean | null },
) {
  const take = pageSize(args.first);
  const afterId = decodeCursor(args.after);
  if (afterId !== null && !isUuid(afterId)) throw badInput('"after" is not a cursor from this list.', 'after');
  const where = { userId, ...(args.unreadOnly ? { readAt: null } : {}) };
  const [rows, totalCount] = await Promise.all([
    db.notification.findMany({
      where: { ...where, ...(afterId ? { id: { lt: afterId } } : {}) },
      orderBy: { id: 'desc' },
      take: take + 1,
    }),
    db.notification.count({ where }),
  ]);
  const edges = rows.slice(0, take).map((node) => ({ cursor: encodeCursor(node.id), node }));
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > take, endCursor: edges.at(-1)?.cursor ?? null } };
}

export const unreadCount = (db: PrismaClient, userId: string) =>
  db.notification.count({ where: { userId, readAt: null } });

export async function markRead(db: PrismaClient, userId: string, id: string): Promise<Notification> {
  if (!isUuid(id)) throw badInput('"id" must be a notification id.', 'id');
  // Someone else's notification is answered exactly like a missing one: ids reveal nothing.
  const missing = () => notFound(`No notification with id ${id}.`);
  const found = await db.notification.findUnique({ where: { id } });
  if (!found || found.userId !== userId) throw missing();
  if (found.readAt) return found;
  await db.notification.updateMany({ where: { id, userId, readAt: null }, data: { readAt: new Date() } });
  return db.notification.findUniqueOrThrow({ where: { id } });
}

export async function markAllRead(db: PrismaClient, userId: string): Promise<number> {
  const { count } = await db.notification.updateMany({ where: { userId, readAt: null }, data: { readAt: new Date() } });
  return count;
}
