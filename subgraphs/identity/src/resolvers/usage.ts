import { badInput, requireRole } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { summarizeUsage } from '../domain/operation-usage.js';

const MAX_FIRST = 500;
const DAY_MS = 24 * 60 * 60_000;
// Filters match stored labels exactly; none is longer than this.
const MAX_FILTER_CHARS = 128;

/** `operationUsage`: admins read the gateway's counts per client and operation (domain/operation-usage.ts). */
export const UsageQuery: Pick<QueryResolvers, 'operationUsage'> = {
  operationUsage: (_parent, { filter, first }, ctx) => {
    requireRole(ctx, 'ADMIN');
    const take = first ?? 100;
    if (!Number.isInteger(take) || take < 1 || take > MAX_FIRST)
      throw badInput(`"first" must be 1 to ${MAX_FIRST}.`, 'first');
    for (const field of ['client', 'operationName', 'partnerId'] as const) {
      if ((filter?.[field]?.length ?? 0) > MAX_FILTER_CHARS)
        throw badInput(`The ${field} filter is longer than ${MAX_FILTER_CHARS} characters.`, `filter.${field}`);
    }
    // The DateTime scalar has already refused anything but a UTC ISO 8601 time.
    const since = filter?.since ? new Date(filter.since) : new Date(Date.now() - DAY_MS);
    return summarizeUsage(
      ctx.db,
      { since, client: filter?.client, operationName: filter?.operationName, partnerId: filter?.partnerId },
      take,
    );
  },
};
