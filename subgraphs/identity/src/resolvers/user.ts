import { isUuid } from '@coursegraph/service-kit';
import type { UserResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';

/**
 * Whether the caller may see this user's private fields (email, role, active, emailVerified): the user themself
 * (by their token, or just signed in by signUp, logIn or refreshSession in this request) and admins.
 * Anyone else reads null, with no error, wherever the user is reached (me, user, references).
 */
function seesPrivate(user: { id: string }, ctx: Context): boolean {
  const self = ctx.viewer?.userId === user.id || ctx.signedInUserId === user.id;
  return self || ctx.viewer?.role === 'ADMIN';
}

export const User: UserResolvers = {
  // A malformed id is no user: refused before SQL, so it cannot fail the batch it came in.
  __resolveReference: (ref, ctx) => (isUuid(ref.id) ? ctx.loaders.user.load(ref.id) : null),
  email: (user, _args, ctx) => (seesPrivate(user, ctx) ? user.email : null),
  role: (user, _args, ctx) => (seesPrivate(user, ctx) ? user.role : null),
  active: (user, _args, ctx) => (seesPrivate(user, ctx) ? user.deactivatedAt === null : null),
  emailVerified: (user, _args, ctx) => (seesPrivate(user, ctx) ? user.emailVerifiedAt !== null : null),
};
