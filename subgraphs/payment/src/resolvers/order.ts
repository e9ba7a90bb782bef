import type { OrderResolvers, PaymentFailureReason } from '../generated/resolvers-types.js';
import { canSeeOrdersOf, money } from './page.js';

export const Order: OrderResolvers = {
  __resolveReference: async (ref, ctx) => {
    const order = await ctx.loaders.order.load(ref.id);
    return order && canSeeOrdersOf(ctx.viewer, order.userId) ? order : null;
  },
  course: (order) => ({ id: order.courseId }),
  buyer: (order) => ({ id: order.userId }),
  subtotal: (order) => money(order.subtotalMinor, order.currency),
  discount: (order) => money(order.discountMinor, order.currency),
  total: (order) => money(order.totalMinor, order.currency),
  refundedTotal: (order) => money(order.refundedMinor, order.currency),
  failureReason: (order) => order.failureReason as PaymentFailureReason | null,
  payments: (order, _args, ctx) => ctx.loaders.paymentsByOrder.load(order.id),
  refunds: (order, _args, ctx) => ctx.loaders.refundsByOrder.load(order.id),
};
