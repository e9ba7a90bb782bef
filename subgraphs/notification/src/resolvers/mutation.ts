import { requireViewer } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import { markAllRead, markRead } from '../domain/inbox.js';
import { updatePreference } from '../domain/preferences.js';

export const Mutation: MutationResolvers = {
  markNotificationRead: (_parent, { id }, ctx) => markRead(ctx.db, requireViewer(ctx).userId, id),
  markAllNotificationsRead: (_parent, _args, ctx) => markAllRead(ctx.db, requireViewer(ctx).userId),
  updateNotificationPreference: (_parent, { input }, ctx) => updatePreference(ctx.db, requireViewer(ctx).userId, input),
};
