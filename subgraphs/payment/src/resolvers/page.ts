/** Shared bits of the resolvers: Relay pages and money. */
import { badInput, decodeCursor, encodeCursor, isUuid, type Viewer } from '@coursegraph/service-kit';

/** The id an `after` cursor points at (ids are UUID v7, lists are newest first). */
export function afterId(after: string | null | undefined): string | null {
  const id = decodeCursor(after);
  if (id !== null && !isUuid(id)) throw badInput('"after" is not a cursor from this list.', 'after');
  return id;
}

export function connection<T extends { id: string }>(page: { rows: T[]; hasNextPage: boolean; totalCount: number }) {
  const edges = page.rows.map((node) => ({ cursor: encodeCursor(node.id), node }));
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

export const money = (amountMinor: number, currency: string) => ({ amountMinor, currency });

/** Orders are visible to their buyer and to admins. */
export const canSeeOrdersOf = (viewer: Viewer | null, userId: string) =>
  viewer !== null && (viewer.userId === userId || viewer.role === 'ADMIN');
