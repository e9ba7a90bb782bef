import { badInput, isUuid, requireRole, requireViewer } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import { createCoupon } from '../domain/coupons.js';
import { pendingCounts } from '../data/attempts.js';

export const Mutation: MutationResolvers = {
  checkout: (_parent, { input }, ctx) => ctx.checkout.checkout(requireViewer(ctx), input, ctx.traceparent ?? null),

  refundOrder: (_parent, { orderId, amount, reason }, ctx) => {
    const admin = requireRole(ctx, 'ADMIN');
    return ctx.refunds.refund({
      orderId,
      amount: amount ?? null,
      reason,
      requestedBy: admin.userId,
      traceparent: ctx.traceparent ?? null,
    });
  },

  createCoupon: (_parent, { input }, ctx) => createCoupon(ctx.db, requireRole(ctx, 'ADMIN').userId, input),

  reconcilePayments: async (_parent, { orderIds }, ctx) => {
    requireRole(ctx, 'ADMIN');
    if (orderIds && (orderIds.length > 100 || !orderIds.every(isUuid)))
      throw badInput('orderIds: at most 100 order ids.', 'orderIds');
    const report = await ctx.reconciler.runOnce(orderIds ? { orderIds: orderIds.map((id) => id.toLowerCase()) } : {});
    return { ...report, operations: await pendingCounts(ctx.db) };
  },
};
