import { requireRole, requireViewer } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { AuthPayload } from '../domain/accounts.js';

/** The payload's user may see their own private fields in this response. */
function signedIn(ctx: Context, payload: AuthPayload): AuthPayload {
  ctx.signedInUserId = payload.user.id;
  return payload;
}

export const Mutation: MutationResolvers = {
  signUp: async (_parent, { input }, ctx) => signedIn(ctx, await ctx.accounts.signUp(input, ctx.traceparent)),
  logIn: async (_parent, { input }, ctx) => signedIn(ctx, await ctx.accounts.logIn(input, ctx.clientIp)),
  refreshSession: async (_parent, { refreshToken }, ctx) => signedIn(ctx, await ctx.accounts.refresh(refreshToken)),
  logOut: async (_parent, _args, ctx) => {
    await ctx.accounts.logOut(requireViewer(ctx));
    return true;
  },
  changeUserRole: (_parent, { userId, role }, ctx) => ctx.accounts.changeRole(requireRole(ctx, 'ADMIN'), userId, role),
  deactivateUser: (_parent, { userId }, ctx) =>
    ctx.accounts.deactivate(requireRole(ctx, 'ADMIN'), userId, ctx.traceparent),
  verifyEmail: (_parent, { token }, ctx) => ctx.emailVerification.verify(token, ctx.viewer ?? null, ctx.traceparent),
  resendVerificationEmail: async (_parent, _args, ctx) => {
    await ctx.emailVerification.resend(requireViewer(ctx), ctx.traceparent);
    return true;
  },
  rotateSigningKey: (_parent, _args, ctx) => {
    requireRole(ctx, 'ADMIN');
    return ctx.keys.rotate();
  },
};
