import { badInput, forbidden, requireViewer } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { costReport } from '../data/model-calls.js';

export const Query: QueryResolvers = {
  aiCostReport: (_p, { days }, ctx) => {
    const viewer = requireViewer(ctx);
    if (viewer.role !== 'ADMIN') throw forbidden('The AI cost report is for admins.');
    if (!Number.isInteger(days) || days < 1 || days > 366) throw badInput('days must be 1..366.', 'days');
    return costReport(ctx.db, days, new Date());
  },
};
