/** Per-request DataLoaders: every load by key is batched, so a list costs a constant number of queries. */
import DataLoader from 'dataloader';
import type { Notification, PrismaClient } from '../generated/prisma/client.js';

export function createLoaders(db: PrismaClient) {
  return {
    notification: new DataLoader<string, Notification | null>(async (ids) => {
      const rows = await db.notification.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
