import { badInput, isUuid, pageSize, requireRole, requireViewer } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { listUserOrders } from '../data/orders.js';
import { pendingCounts } from '../data/attempts.js';
import { accountBalances, listLedgerEntries } from '../data/ledger.js';
import { normaliseCouponCode } from '../domain/coupons.js';
import type { LedgerAccount } from '../generated/resolvers-types.js';
import { afterId, canSeeOrdersOf, connection, money } from './page.js';

export const Query: QueryResolvers = {
  // Someone else's order answers null, exactly like a missing one: ids reveal nothing.
  order: async (_parent, { id }, ctx) => {
    const viewer = requireViewer(ctx);
    if (!isUuid(id)) throw badInput('id is not an order id.', 'id');
    const order = await ctx.loaders.order.load(id);
    return order && canSeeOrdersOf(viewer, order.userId) ? order : null;
  },

  myOrders: async (_parent, { first, after }, ctx) => {
    const viewer = requireViewer(ctx);
    return connection(await listUserOrders(ctx.db, ctx.sql, viewer.userId, pageSize(first), afterId(after)));
  },

  // Admins only: a lookup open to learners would tell a guesser which codes exist.
  coupon: async (_parent, { code }, ctx) => {
    requireRole(ctx, 'ADMIN');
    const normalised = normaliseCouponCode(code);
    if (normalised === '' || normalised.length > 64) throw badInput('Give a coupon code.', 'code');
    return ctx.db.coupon.findUnique({ where: { code: normalised } });
  },

  paymentOperations: async (_parent, _args, ctx) => {
    requireRole(ctx, 'ADMIN');
    return pendingCounts(ctx.db);
  },

  ledgerBalance: async (_parent, _args, ctx) => {
    requireRole(ctx, 'ADMIN');
    const balances = await accountBalances(ctx.db);
    const perCurrency = new Map<string, number>();
    for (const b of balances) perCurrency.set(b.currency, (perCurrency.get(b.currency) ?? 0) + b.balanceMinor);
    return {
      balanced: [...perCurrency.values()].every((sum) => sum === 0),
      accounts: balances.map((b) => ({
        account: b.account.toUpperCase() as LedgerAccount,
        balance: money(b.balanceMinor, b.currency),
      })),
    };
  },

  ledgerEntries: async (_parent, { first, after, orderId }, ctx) => {
    requireRole(ctx, 'ADMIN');
    if (orderId != null && !isUuid(orderId)) throw badInput('orderId is not an order id.', 'orderId');
    return connection(await listLedgerEntries(ctx.db, orderId ?? null, pageSize(first), afterId(after)));
  },
};
