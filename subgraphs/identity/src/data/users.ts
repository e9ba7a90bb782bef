/** Data access for users. Every load by key goes through a per-request DataLoader. */
import DataLoader from 'dataloader';
import type { Role, SqlReads } from '@coursegraph/service-kit';
import type { PrismaClient, User } from '../generated/prisma/client.js';
import { usersById } from './hot-reads.js';

export type { User };

/** `sql`: the hot reads' plain SQL (hot-reads.ts), or null to read through Prisma (DB_HOT_READS=prisma). */
export function createUserLoader(db: PrismaClient, sql: SqlReads | null): DataLoader<string, User | null> {
  return new DataLoader(async (ids) => {
    const rows = sql ? await usersById(sql, ids) : await db.user.findMany({ where: { id: { in: [...ids] } } });
    const byId = new Map(rows.map((u) => [u.id, u]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

export const findUserByEmailKey = (db: PrismaClient, emailKey: string) => db.user.findUnique({ where: { emailKey } });

export interface UserListFilter {
  emailContains?: string | null;
  role?: Role | null;
}

/** A page of users, newest first (ids are UUID v7, so id order is creation order). */
export async function listUsers(db: PrismaClient, filter: UserListFilter, take: number, beforeId: string | null) {
  const where = {
    ...(filter.emailContains ? { emailKey: { contains: filter.emailContains.trim().toLowerCase() } } : {}),
    ...(filter.role ? { role: filter.role } : {}),
  };
  const [rows, totalCount] = await Promise.all([
    db.user.findMany({
      where: { ...where, ...(beforeId ? { id: { lt: beforeId } } : {}) },
      orderBy: { id: 'desc' },
      take: take + 1,
    }),
    db.user.count({ where }),
  ]);
  return { rows: rows.slice(0, take), hasNextPage: rows.length > take, totalCount };
}
