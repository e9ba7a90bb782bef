import { requireRole, type SubgraphContext } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import type { Change } from '../domain/flags.js';

/** The admin making the change, now, and the request's trace (carried by flags.flag.changed). */
function change(ctx: SubgraphContext): Change {
  return { actor: requireRole(ctx, 'ADMIN').userId, now: new Date(), traceparent: ctx.traceparent };
}

export const Mutation: MutationResolvers = {
  createFlag: (_p, { input }, ctx) => ctx.flags.create(input, change(ctx)),
  updateFlag: (_p, { input }, ctx) => ctx.flags.update(input, change(ctx)),
  setFlagEnabled: (_p, { key, enabled }, ctx) => ctx.flags.setEnabled(key, enabled, change(ctx)),
  deleteFlag: (_p, { key }, ctx) => ctx.flags.delete(key, change(ctx)),
};
