import type { FlagAuditEntryResolvers, FlagResolvers } from '../generated/resolvers-types.js';

export const Flag: FlagResolvers = {
  updatedBy: (flag) => (flag.updatedBy ? { id: flag.updatedBy } : null),
};

export const FlagAuditEntry: FlagAuditEntryResolvers = {
  actor: (entry) => ({ id: entry.actor }),
};
