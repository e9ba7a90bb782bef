/**
 * A flag as every service holds it, and how it is evaluated for one subject (ADR-006, issue 19):
 *
 * 1. disabled (the kill switch) → its off variant ("off" for a boolean flag, else the default
 *    variant), whatever the rest says;
 * 2. the first rule whose attribute matches the evaluation context → that rule's variant;
 * 3. subjects in the rollout (hash(flagKey + subject) mod 100 < rolloutPercent) → a variant by
 *    weight, from a second part of the same hash, so a subject keeps its variant as the rollout grows;
 * 4. everyone else, and a context without a subject → the default variant.
 *
 * Pure: no I/O, so the rules are tested alone (test/flags/evaluate.test.ts) and evaluation costs
 * one SHA-256 of a short string.
 */
import { createHash } from 'node:crypto';

export interface FlagVariant {
  key: string;
  /** Whole percent, 0..100; a flag's weights add up to 100. */
  weight: number;
}

export type RuleOperator = 'IN' | 'EQUALS';

export interface FlagRule {
  /** `role`, or another attribute of the evaluation context (`courseId`). */
  attribute: string;
  operator: RuleOperator;
  values: string[];
  variant: string;
}

export interface FlagDefinition {
  key: string;
  description: string;
  /** The kill switch. */
  enabled: boolean;
  defaultVariant: string;
  variants: FlagVariant[];
  /** 0..100. */
  rolloutPercent: number;
  rules: FlagRule[];
  /** Grows by one on every change; the copy with the higher version wins. */
  version: number;
  /** RFC 3339. */
  updatedAt: string;
  /** The admin who made the last change; null for the flags shipped with the code. */
  updatedBy: string | null;
  /** A deleted flag is kept (as a tombstone) only so that an older copy cannot bring it back. */
  deleted: boolean;
}

/** Why a variant was chosen (OpenFeature's standard reasons, and DISABLED for the kill switch). */
export type EvaluationReason = 'DISABLED' | 'TARGETING_MATCH' | 'SPLIT' | 'DEFAULT';

export interface Evaluation {
  variant: string;
  reason: EvaluationReason;
}

/** The evaluation context: `targetingKey` is the subject (a user id); the rest are attributes (role, courseId, ...). */
export type FlagContext = Record<string, unknown> & { targetingKey?: string };

/** A boolean flag is one whose variants are exactly "on" and "off". */
export function isBooleanFlag(flag: Pick<FlagDefinition, 'variants'>): boolean {
  const keys = flag.variants.map((v) => v.key).sort();
  return keys.length === 2 && keys[0] === 'off' && keys[1] === 'on';
}

/** What a disabled flag answers: "off" for a boolean flag, else the default variant (the code's baseline). */
export const offVariant = (flag: Pick<FlagDefinition, 'variants' | 'defaultVariant'>): string =>
  isBooleanFlag(flag) ? 'off' : flag.defaultVariant;

/**
 * The subject's two buckets, 0..99 each, from SHA-256(flagKey + ":" + subject): the first decides
 * whether it is in the rollout, the second which variant it gets. The same subject gets the same
 * buckets for the same flag on every process, and other buckets for another flag.
 */
export function bucketsOf(flagKey: string, subject: string): { rollout: number; variant: number } {
  const digest = createHash('sha256').update(`${flagKey}:${subject}`).digest();
  return { rollout: digest.readUInt32BE(0) % 100, variant: digest.readUInt32BE(4) % 100 };
}

function attributeValue(context: FlagContext, attribute: string): string | null {
  const value = context[attribute];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function ruleMatches(rule: FlagRule, context: FlagContext): boolean {
  const value = attributeValue(context, rule.attribute);
  if (value === null) return false;
  return rule.operator === 'EQUALS' ? rule.values[0] === value : rule.values.includes(value);
}

/** The variant `flag` gives the subject of `context`, and why. */
export function evaluateFlag(flag: FlagDefinition, context: FlagContext): Evaluation {
  if (!flag.enabled) return { variant: offVariant(flag), reason: 'DISABLED' };
  for (const rule of flag.rules)
    if (ruleMatches(rule, context)) return { variant: rule.variant, reason: 'TARGETING_MATCH' };
  const subject = context.targetingKey;
  if (typeof subject !== 'string' || subject === '' || flag.rolloutPercent === 0)
    return { variant: flag.defaultVariant, reason: 'DEFAULT' };
  const buckets = bucketsOf(flag.key, subject);
  if (buckets.rollout >= flag.rolloutPercent) return { variant: flag.defaultVariant, reason: 'DEFAULT' };
  let upTo = 0;
  for (const variant of flag.variants) {
    upTo += variant.weight;
    if (buckets.variant < upTo) return { variant: variant.key, reason: 'SPLIT' };
  }
  // Weights that do not add up to 100 (the flags subgraph refuses them): the remainder is the default's.
  return { variant: flag.defaultVariant, reason: 'DEFAULT' };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A flag read from the wire (the internal route's JSON, an event's payload), checked for the shape
 * evaluation relies on; throws naming what is wrong. The flags subgraph validates what admins write
 * (subgraphs/flags/src/domain/validation.ts); this only keeps a malformed copy out of the cache.
 */
export function flagFromWire(raw: unknown): FlagDefinition {
  if (!isObject(raw)) throw new Error('a flag is an object');
  const { key, version } = raw;
  if (typeof key !== 'string' || key === '') throw new Error('a flag needs a key');
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw new Error(`flag ${key}: version must be a whole number ≥ 1`);
  const variants = Array.isArray(raw.variants) ? raw.variants : null;
  const rules = Array.isArray(raw.rules) ? raw.rules : null;
  if (!variants || !variants.every((v) => isObject(v) && typeof v.key === 'string' && typeof v.weight === 'number'))
    throw new Error(`flag ${key}: variants must be [{ key, weight }]`);
  if (
    !rules ||
    !rules.every(
      (r) =>
        isObject(r) &&
        typeof r.attribute === 'string' &&
        (r.operator === 'IN' || r.operator === 'EQUALS') &&
        Array.isArray(r.values) &&
        r.values.every((v) => typeof v === 'string') &&
        typeof r.variant === 'string',
    )
  )
    throw new Error(`flag ${key}: rules must be [{ attribute, operator: IN | EQUALS, values, variant }]`);
  const rolloutPercent = raw.rolloutPercent;
  if (typeof rolloutPercent !== 'number' || rolloutPercent < 0 || rolloutPercent > 100)
    throw new Error(`flag ${key}: rolloutPercent must be 0..100`);
  if (typeof raw.enabled !== 'boolean' || typeof raw.defaultVariant !== 'string')
    throw new Error(`flag ${key}: enabled and defaultVariant are required`);
  return {
    key,
    description: typeof raw.description === 'string' ? raw.description : '',
    enabled: raw.enabled,
    defaultVariant: raw.defaultVariant,
    variants: variants.map((v) => ({ key: String(v.key), weight: Number(v.weight) })),
    rolloutPercent,
    rules: rules.map((r) => ({
      attribute: String(r.attribute),
      operator: r.operator as RuleOperator,
      values: (r.values as string[]).slice(),
      variant: String(r.variant),
    })),
    version,
    updatedAt: typeof raw.updatedAt === 'string' ? raw.updatedAt : '',
    updatedBy: typeof raw.updatedBy === 'string' && raw.updatedBy !== '' ? raw.updatedBy : null,
    deleted: raw.deleted === true,
  };
}
