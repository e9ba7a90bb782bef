/** Field resolvers of the smaller types: payments, refunds, coupons, ledger entries. */
import type {
  CouponResolvers,
  LedgerAccount,
  LedgerEntryResolvers,
  PaymentFailureReason,
  PaymentResolvers,
  RefundResolvers,
} from '../generated/resolvers-types.js';
import { isExpired, isUsedUp } from '../domain/coupons.js';
import { money } from './page.js';

export const Payment: PaymentResolvers = {
  amount: (payment) => money(payment.amountMinor, payment.currency),
  failureReason: (payment) => payment.failureReason as PaymentFailureReason | null,
};

export const Refund: RefundResolvers = {
  amount: (refund) => money(refund.amountMinor, refund.currency),
};

export const Coupon: CouponResolvers = {
  amountOff: (coupon) =>
    coupon.amountOffMinor !== null && coupon.currency !== null ? money(coupon.amountOffMinor, coupon.currency) : null,
  course: (coupon) => (coupon.courseId ? { id: coupon.courseId } : null),
  usable: (coupon) => !isExpired(coupon) && !isUsedUp(coupon),
};

export const LedgerEntry: LedgerEntryResolvers = {
  account: (entry) => entry.account.toUpperCase() as LedgerAccount,
  amount: (entry) => money(entry.amountMinor, entry.currency),
  // Admins only reach ledger entries, so the order is always theirs to see.
  order: async (entry, _args, ctx) => (await ctx.loaders.order.load(entry.orderId))!,
};
