import type { UserResolvers } from '../generated/resolvers-types.js';

export const User: UserResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.user.load(ref.id),
  // Email is personal: only the user and admins see it.
  email: (user, _args, ctx) => {
    const self = ctx.viewer?.userId === user.id || ctx.signedInUserId === user.id;
    return self || ctx.viewer?.role === 'ADMIN' ? user.email : null;
  },
  active: (user) => user.deactivatedAt === null,
};
