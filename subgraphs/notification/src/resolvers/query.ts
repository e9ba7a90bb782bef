import { requireViewer } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { notificationsOf, unreadCount } from '../domain/inbox.js';
import { preferencesOf } from '../domain/preferences.js';

export const Query: QueryResolvers = {
  myNotifications: (_parent, args, ctx) => notificationsOf(ctx.db, requireViewer(ctx).userId, args),
  unreadNotificationCount: (_parent, _args, ctx) => unreadCount(ctx.db, requireViewer(ctx).userId),
  myNotificationPreferences: (_parent, _args, ctx) => preferencesOf(ctx.db, requireViewer(ctx).userId),
};
