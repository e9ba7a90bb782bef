import { forbidden, requireViewer, type AuthContext } from '@coursegraph/service-kit';
import type { NotificationResolvers, UserResolvers } from '../generated/resolvers-types.js';
import { notificationsOf, unreadCount } from '../domain/inbox.js';

export const Notification: NotificationResolvers = {
  __resolveReference: async (ref, ctx) => {
    const notification = await ctx.loaders.notification.load(ref.id);
    // Notifications are personal: only their owner gets one by reference.
    return notification && notification.userId === ctx.viewer?.userId ? notification : null;
  },
  course: (n) => (n.courseId ? { id: n.courseId } : null),
  user: (n) => ({ id: n.userId }),
  read: (n) => n.readAt !== null,
};

/** An inbox is its owner's alone (admins included: it may hold payment details). */
function requireOwner(ctx: AuthContext, userId: string): void {
  if (requireViewer(ctx).userId !== userId) throw forbidden('Only the user themself sees their notifications.');
}

export const User: UserResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  notifications: (user, args, ctx) => {
    requireOwner(ctx, user.id);
    return notificationsOf(ctx.db, user.id, args);
  },
  unreadNotificationCount: (user, _args, ctx) => {
    requireOwner(ctx, user.id);
    return unreadCount(ctx.db, user.id);
  },
};
