/**
 * What an admin may write into a flag. Hostile input (a rollout of 101, a variant that does not
 * exist, a 10,000-character key, ...) gets a BAD_USER_INPUT naming the field and changes nothing.
 * The whole flag is checked after every change, so no sequence of updates makes an invalid one.
 */
import { badInput, type FlagRule, type FlagVariant, type RuleOperator } from '@coursegraph/service-kit';

/** A flag's key, and a variant's: as code names them. */
export const KEY = /^[a-z][a-z0-9-]{0,62}$/;
/** A rule's attribute: role, or a context attribute such as courseId. */
export const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const MAX_DESCRIPTION_CHARS = 500;
export const MAX_VARIANTS = 20;
export const MAX_RULES = 50;
export const MAX_RULE_VALUES = 100;
export const MAX_RULE_VALUE_CHARS = 200;

/** The variants of a flag created without any: an on/off flag. */
export const ON_OFF: FlagVariant[] = [
  { key: 'on', weight: 100 },
  { key: 'off', weight: 0 },
];

export function checkKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string' || !KEY.test(key))
    throw badInput(
      `${field} must be 1..63 lower-case letters, digits and '-', starting with a letter (as code names the flag).`,
      field,
    );
  return key;
}

export function checkDescription(description: string): string {
  if ([...description].length > MAX_DESCRIPTION_CHARS)
    throw badInput(`description is longer than ${MAX_DESCRIPTION_CHARS} characters.`, 'description');
  return description;
}

export function checkRolloutPercent(percent: number): number {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100)
    throw badInput('rolloutPercent must be a whole number from 0 to 100.', 'rolloutPercent');
  return percent;
}

export function checkVariants(variants: readonly FlagVariant[]): FlagVariant[] {
  if (variants.length < 1 || variants.length > MAX_VARIANTS)
    throw badInput(`a flag has 1 to ${MAX_VARIANTS} variants.`, 'variants');
  const seen = new Set<string>();
  let total = 0;
  for (const v of variants) {
    checkKey(v.key, 'variants.key');
    if (seen.has(v.key)) throw badInput(`variant ${v.key} is listed twice.`, 'variants');
    seen.add(v.key);
    if (!Number.isInteger(v.weight) || v.weight < 0 || v.weight > 100)
      throw badInput(`the weight of variant ${v.key} must be a whole number from 0 to 100.`, 'variants.weight');
    total += v.weight;
  }
  if (total !== 100) throw badInput(`the variants' weights add up to ${total}; they must add up to 100.`, 'variants');
  return variants.map((v) => ({ key: v.key, weight: v.weight }));
}

export function checkRules(rules: readonly FlagRule[], variants: readonly FlagVariant[]): FlagRule[] {
  if (rules.length > MAX_RULES) throw badInput(`a flag has at most ${MAX_RULES} rules.`, 'rules');
  const known = new Set(variants.map((v) => v.key));
  return rules.map((rule, i) => {
    const field = `rules[${i}]`;
    if (typeof rule.attribute !== 'string' || !ATTRIBUTE.test(rule.attribute))
      throw badInput(`${field}.attribute must be a name of 1..64 letters, digits and _ (role, courseId, ...).`, field);
    const operator: RuleOperator = rule.operator;
    if (operator !== 'IN' && operator !== 'EQUALS') throw badInput(`${field}.operator must be IN or EQUALS.`, field);
    if (rule.values.length < 1 || rule.values.length > MAX_RULE_VALUES)
      throw badInput(`${field} needs 1 to ${MAX_RULE_VALUES} values.`, field);
    if (operator === 'EQUALS' && rule.values.length !== 1)
      throw badInput(`${field}: EQUALS compares with exactly one value.`, field);
    for (const value of rule.values)
      if (value === '' || [...value].length > MAX_RULE_VALUE_CHARS)
        throw badInput(`${field}: each value is 1..${MAX_RULE_VALUE_CHARS} characters.`, field);
    if (!known.has(rule.variant))
      throw badInput(
        `${field}.variant ${JSON.stringify(rule.variant.slice(0, 64))} is not one of the flag's variants.`,
        field,
      );
    return { attribute: rule.attribute, operator, values: [...rule.values], variant: rule.variant };
  });
}

export function checkDefaultVariant(defaultVariant: string, variants: readonly FlagVariant[]): string {
  if (!variants.some((v) => v.key === defaultVariant))
    throw badInput(
      `defaultVariant ${JSON.stringify(defaultVariant.slice(0, 64))} is not one of the flag's variants.`,
      'defaultVariant',
    );
  return defaultVariant;
}

export function checkExpectedVersion(expected: number | null | undefined): number | null {
  if (expected === null || expected === undefined) return null;
  if (!Number.isInteger(expected) || expected < 1)
    throw badInput('expectedVersion must be a whole number ≥ 1.', 'expectedVersion');
  return expected;
}
