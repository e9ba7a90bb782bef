/**
 * Admins' changes to flags. Each change is one transaction: the flag row (its version one more),
 * an audit row with the flag before and after, and `flags.flag.changed` with the whole flag in the
 * outbox, so every service's cache applies it as soon as the relay publishes it (within about a
 * second: a kill switch). Concurrent changes of one flag queue on its row lock; `expectedVersion`
 * lets an admin refuse to overwrite a change they have not seen.
 */
import { FlagsEvents } from '@coursegraph/contracts';
import {
  conflict,
  enqueueEvent,
  isUniqueViolation,
  newId,
  notFound,
  type FlagDefinition,
  type FlagRule,
  type FlagVariant,
} from '@coursegraph/service-kit';
import type { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from '../data/db.js';
import { FLAGS_CONTEXT } from './events.js';
import { changedPayload, toDefinition, type AuditAction, type AuditView, type FlagView } from './flag.js';
import {
  checkDefaultVariant,
  checkDescription,
  checkExpectedVersion,
  checkKey,
  checkRolloutPercent,
  checkRules,
  checkVariants,
  ON_OFF,
} from './validation.js';

export interface CreateFlagInput {
  key: string;
  description?: string | null;
  enabled?: boolean | null;
  variants?: readonly FlagVariant[] | null;
  defaultVariant?: string | null;
  rolloutPercent?: number | null;
  rules?: readonly FlagRule[] | null;
}

export interface UpdateFlagInput {
  key: string;
  expectedVersion?: number | null;
  description?: string | null;
  variants?: readonly FlagVariant[] | null;
  defaultVariant?: string | null;
  rolloutPercent?: number | null;
  rules?: readonly FlagRule[] | null;
}

/** Who changes, when, and the request's trace (carried by the event). */
export interface Change {
  actor: string;
  now: Date;
  traceparent?: string | undefined;
}

const asJson = (value: unknown) => value as Prisma.InputJsonValue;

/** The variants, default, rollout and rules of a flag, checked together (rules and default name variants). */
function checkedShape(shape: {
  variants: readonly FlagVariant[];
  defaultVariant: string;
  rolloutPercent: number;
  rules: readonly FlagRule[];
}) {
  const variants = checkVariants(shape.variants);
  return {
    variants,
    defaultVariant: checkDefaultVariant(shape.defaultVariant, variants),
    rolloutPercent: checkRolloutPercent(shape.rolloutPercent),
    rules: checkRules(shape.rules, variants),
  };
}

/** Locks the flag's row for the rest of the transaction; null when there is none. */
async function locked(tx: Tx, key: string) {
  await tx.$queryRaw`select 1 from flags.flags where key = ${key} for update`;
  return tx.flag.findUnique({ where: { key } });
}

async function record(
  tx: Tx,
  action: AuditAction,
  before: FlagDefinition | null,
  after: FlagDefinition,
  change: Change,
): Promise<void> {
  await tx.flagAudit.create({
    data: {
      id: newId(),
      flagKey: after.key,
      action,
      actor: change.actor,
      change: asJson({ before, after: action === 'DELETED' ? null : after }),
      at: change.now,
    },
  });
  await enqueueEvent(tx, FLAGS_CONTEXT, FlagsEvents.changed, changedPayload(after, action), {
    traceparent: change.traceparent,
  });
}

export function createFlags(db: PrismaClient) {
  const live = async (tx: Tx | PrismaClient, key: string) => {
    const row = await tx.flag.findUnique({ where: { key } });
    return row && row.deletedAt === null ? row : null;
  };
  const requireLive = async (tx: Tx, key: string) => {
    const row = await locked(tx, key);
    if (!row || row.deletedAt !== null) throw notFound(`There is no flag named ${key}.`);
    return row;
  };

  return {
    async list(): Promise<FlagView[]> {
      const rows = await db.flag.findMany({ where: { deletedAt: null }, orderBy: { key: 'asc' } });
      return rows.map(toDefinition);
    },

    /** Every flag with its version, deleted ones too: what services load (GET /internal/flags). */
    async forServices(): Promise<FlagDefinition[]> {
      return (await db.flag.findMany({ orderBy: { key: 'asc' } })).map(toDefinition);
    },

    async get(key: string): Promise<FlagView | null> {
      if (!KEY_LIKE(key)) return null;
      const row = await live(db, key);
      return row ? toDefinition(row) : null;
    },

    async create(input: CreateFlagInput, change: Change): Promise<FlagView> {
      const key = checkKey(input.key);
      const description = checkDescription(input.description ?? '');
      const variants = input.variants ?? ON_OFF;
      const shape = checkedShape({
        variants,
        defaultVariant: input.defaultVariant ?? (variants === ON_OFF ? 'off' : (variants[0]?.key ?? '')),
        rolloutPercent: input.rolloutPercent ?? 0,
        rules: input.rules ?? [],
      });
      const data = {
        description,
        enabled: input.enabled ?? true,
        defaultVariant: shape.defaultVariant,
        variants: asJson(shape.variants),
        rolloutPercent: shape.rolloutPercent,
        rules: asJson(shape.rules),
        updatedAt: change.now,
        updatedBy: change.actor,
      };
      try {
        return await db.$transaction(async (tx) => {
          const existing = await locked(tx, key);
          if (existing && existing.deletedAt === null) throw conflict(`A flag named ${key} exists.`, 'key');
          // A deleted flag's key is used again with the next version, so no cache prefers the tombstone.
          const row = existing
            ? await tx.flag.update({
                where: { key },
                data: { ...data, version: existing.version + 1, deletedAt: null, createdAt: change.now },
              })
            : await tx.flag.create({ data: { key, ...data, version: 1, createdAt: change.now } });
          const after = toDefinition(row);
          await record(tx, 'CREATED', null, after, change);
          return after;
        });
      } catch (err) {
        // Two admins creating the same key at once: the other one's won.
        if (isUniqueViolation(err)) throw conflict(`A flag named ${key} exists.`, 'key');
        throw err;
      }
    },

    async update(input: UpdateFlagInput, change: Change): Promise<FlagView> {
      const key = checkKey(input.key);
      const expectedVersion = checkExpectedVersion(input.expectedVersion);
      const description = input.description == null ? null : checkDescription(input.description);
      return db.$transaction(async (tx) => {
        const row = await requireLive(tx, key);
        if (expectedVersion !== null && row.version !== expectedVersion)
          throw conflict(
            `The flag ${key} is at version ${row.version}, not ${expectedVersion}: someone changed it; read it again.`,
            'expectedVersion',
          );
        const before = toDefinition(row);
        const shape = checkedShape({
          variants: input.variants ?? before.variants,
          defaultVariant: input.defaultVariant ?? before.defaultVariant,
          rolloutPercent: input.rolloutPercent ?? before.rolloutPercent,
          rules: input.rules ?? before.rules,
        });
        const updated = await tx.flag.update({
          where: { key },
          data: {
            ...(description !== null ? { description } : {}),
            defaultVariant: shape.defaultVariant,
            variants: asJson(shape.variants),
            rolloutPercent: shape.rolloutPercent,
            rules: asJson(shape.rules),
            version: row.version + 1,
            updatedAt: change.now,
            updatedBy: change.actor,
          },
        });
        const after = toDefinition(updated);
        await record(tx, 'UPDATED', before, after, change);
        return after;
      });
    },

    /** The kill switch. Setting the value it already has changes nothing (no version, audit or event). */
    async setEnabled(rawKey: string, enabled: boolean, change: Change): Promise<FlagView> {
      const key = checkKey(rawKey);
      return db.$transaction(async (tx) => {
        const row = await requireLive(tx, key);
        if (row.enabled === enabled) return toDefinition(row);
        const before = toDefinition(row);
        const updated = await tx.flag.update({
          where: { key },
          data: { enabled, version: row.version + 1, updatedAt: change.now, updatedBy: change.actor },
        });
        const after = toDefinition(updated);
        await record(tx, enabled ? 'ENABLED' : 'DISABLED', before, after, change);
        return after;
      });
    },

    /** Deletes a flag: the row stays as a tombstone (deletedAt, one more version) that services forget it by. */
    async delete(rawKey: string, change: Change): Promise<FlagView> {
      const key = checkKey(rawKey);
      return db.$transaction(async (tx) => {
        const row = await requireLive(tx, key);
        const before = toDefinition(row);
        const updated = await tx.flag.update({
          where: { key },
          data: { deletedAt: change.now, version: row.version + 1, updatedAt: change.now, updatedBy: change.actor },
        });
        await record(tx, 'DELETED', before, toDefinition(updated), change);
        return before;
      });
    },

    async audit(rawKey: string, first: number): Promise<AuditView[]> {
      const key = checkKey(rawKey);
      const rows = await db.flagAudit.findMany({
        where: { flagKey: key },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: first,
      });
      return rows.map((r) => {
        const change = r.change as { before: FlagDefinition | null; after: FlagDefinition | null };
        return {
          id: r.id,
          flagKey: r.flagKey,
          action: r.action as AuditAction,
          actor: r.actor,
          at: r.at,
          before: change.before,
          after: change.after,
        };
      });
    },
  };
}

/** A key that could name a flag (anything else names none: no query needed). */
const KEY_LIKE = (key: string) => typeof key === 'string' && key.length <= 63;

export type Flags = ReturnType<typeof createFlags>;
