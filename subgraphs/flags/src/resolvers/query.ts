import { badInput, requireRole } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { exposuresOf } from '../domain/exposures.js';

/** Audit entries per page at most. */
const MAX_AUDIT_PAGE = 200;

// Flags are the platform's switches: admins only read them (services load them over the signed internal route).
export const Query: QueryResolvers = {
  flags: (_p, _a, ctx) => (requireRole(ctx, 'ADMIN'), ctx.flags.list()),
  flag: (_p, { key }, ctx) => (requireRole(ctx, 'ADMIN'), ctx.flags.get(key)),
  flagAudit: (_p, { key, first }, ctx) => {
    requireRole(ctx, 'ADMIN');
    const take = first ?? 50;
    if (!Number.isInteger(take) || take < 1 || take > MAX_AUDIT_PAGE)
      throw badInput(`first must be 1..${MAX_AUDIT_PAGE}.`, 'first');
    return ctx.flags.audit(key, take);
  },
  flagExposures: (_p, { key, days }, ctx) => {
    requireRole(ctx, 'ADMIN');
    return exposuresOf(ctx.db, key, days ?? 30, new Date());
  },
};
