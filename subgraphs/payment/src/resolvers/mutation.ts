import { requireRole, requireViewer } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import { createCoupon } from '../domain/coupons.js';

export const Mutation: MutationResolvers = {
  checkout: (_parent, { input }, ctx) => ctx.checkout.checkout(requireViewer(ctx), input, ctx.traceparent),

  refundOrder: (_parent, { orderId, amount, reason }, ctx) => {
    const admin = requireRole(ctx, 'ADMIN');
    return ctx.refunds.refund({ orderId, amount: amount ?? null, reason, requestedBy: admin.userId, traceparent: ctx.traceparent });
  },

  createCoupon: (_parent, { input }, ctx) => createCoupon(ctx.db, requireRole(ctx, 'ADMIN').userId, input),
};
