/** A flag row as the graph, the services and the events see it. */
import type { FlagDefinition, FlagRule, FlagVariant } from '@coursegraph/service-kit';
import type { EventInit } from '@coursegraph/service-kit';
import type { FlagsEvents } from '@coursegraph/contracts';
import type { Flag } from '../generated/prisma/client.js';

/** What Flag resolvers receive: the flag as services evaluate it. */
export type FlagView = FlagDefinition;

export type AuditAction = 'CREATED' | 'UPDATED' | 'ENABLED' | 'DISABLED' | 'DELETED';

/** What FlagAuditEntry resolvers receive. */
export interface AuditView {
  id: string;
  flagKey: string;
  action: AuditAction;
  actor: string;
  at: Date;
  before: FlagView | null;
  after: FlagView | null;
}

export function toDefinition(row: Flag): FlagDefinition {
  return {
    key: row.key,
    description: row.description,
    enabled: row.enabled,
    defaultVariant: row.defaultVariant,
    variants: row.variants as unknown as FlagVariant[],
    rolloutPercent: row.rolloutPercent,
    rules: row.rules as unknown as FlagRule[],
    version: row.version,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
    deleted: row.deletedAt !== null,
  };
}

/** flags.flag.changed's payload: the whole flag, so caches need no call back. */
export function changedPayload(flag: FlagDefinition, action: AuditAction): EventInit<typeof FlagsEvents.changed> {
  return {
    key: flag.key,
    description: flag.description,
    enabled: flag.enabled,
    defaultVariant: flag.defaultVariant,
    variants: flag.variants,
    rolloutPercent: flag.rolloutPercent,
    rules: flag.rules,
    version: flag.version,
    updatedAt: flag.updatedAt,
    updatedBy: flag.updatedBy ?? '',
    deleted: flag.deleted,
    action,
  };
}
