import { badInput, isUuid, requireViewer } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { notificationsOf, unreadCount } from '../domain/inbox.js';
import { preferencesOf } from '../domain/preferences.js';

export const Query: QueryResolvers = {
  notification: async (_parent, { id }, ctx) => {
    const viewer = requireViewer(ctx);
    if (!isUuid(id)) throw badInput('"id" is not a notification id.', 'id');
    const notification = await ctx.loaders.notification.load(id);
    // Someone else's notification is indistinguishable from none.
    return notification && notification.userId === viewer.userId ? notification : null;
  },
  myNotifications: (_parent, args, ctx) => notificationsOf(ctx.db, requireViewer(ctx).userId, args),
  unreadNotificationCount: (_parent, _args, ctx) => unreadCount(ctx.db, requireViewer(ctx).userId),
  myNotificationPreferences: (_parent, _args, ctx) => preferencesOf(ctx.db, requireViewer(ctx).userId),
};
