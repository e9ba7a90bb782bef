import { forbidden, pageSize, requireViewer } from '@coursegraph/service-kit';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { listUserOrders } from '../data/orders.js';
import { afterId, canSeeOrdersOf, connection } from './page.js';

export const User: UserResolvers = {
  orders: async (user, { first, after }, ctx) => {
    const viewer = requireViewer(ctx);
    if (!canSeeOrdersOf(viewer, user.id)) throw forbidden("Only the user and admins see a user's orders.");
    return connection(await listUserOrders(ctx.db, ctx.sql, user.id, pageSize(first), afterId(after)));
  },
};
