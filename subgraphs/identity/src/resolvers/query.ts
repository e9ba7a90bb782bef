import { decodeCursor, encodeCursor, isUuid, badInput, pageSize, requireRole } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { listUsers } from '../data/users.js';

export const Query: QueryResolvers = {
  me: (_parent, _args, ctx) => (ctx.viewer ? ctx.loaders.user.load(ctx.viewer.userId) : null),

  user: (_parent, { id }, ctx) => {
    if (!isUuid(id)) throw badInput('"id" is not a user id.', 'id');
    return ctx.loaders.user.load(id);
  },

  users: async (_parent, { first, after, filter }, ctx) => {
    requireRole(ctx, 'ADMIN');
    const take = pageSize(first);
    const afterId = decodeCursor(after);
    if (afterId !== null && !isUuid(afterId)) throw badInput('"after" is not a cursor from this list.', 'after');
    if (filter?.email != null && filter.email.length > 254)
      throw badInput('The email filter is too long.', 'filter.email');
    const page = await listUsers(ctx.db, { emailContains: filter?.email, role: filter?.role }, take, afterId);
    const edges = page.rows.map((node) => ({ cursor: encodeCursor(node.id), node }));
    return {
      edges,
      totalCount: page.totalCount,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    };
  },

  signingKeys: (_parent, _args, ctx) => {
    requireRole(ctx, 'ADMIN');
    return ctx.keys.published();
  },
};
