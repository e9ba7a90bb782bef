/**
 * The checks shared by the assessment parsers. Each takes the raw value and the field path it came
 * from, and either returns the value in its checked form or throws BAD_USER_INPUT naming that path.
 * The parsers take `unknown` because they guard the jsonb column as well as GraphQL input.
 */
import { badInput } from '@coursegraph/service-kit';

/** Ids of choices, entries, pairs and blanks: 1 to 40 of A–Z a–z 0–9 _ -. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;

// NUL cannot be stored in PostgreSQL text, and other control characters have no place in an
// answer; tab and line breaks are kept (code in prompts and choices).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** The path of a field inside `parent` ("" is the root): `at('choices', 2)` is "choices[2]". */
export function at(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/** The field named for the whole input (its path, or `root` when the path is empty). */
export const whole = (path: string, root: string) => path || root;

/** Null and undefined both mean "not given" (GraphQL sends null for an explicit null). */
export const given = (value: unknown): boolean => value !== undefined && value !== null;

/** Length in code points, so an emoji or an accented letter counts once, as a reader counts it. */
export const charCount = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** A plain object (not an array, not null). */
export function record(value: unknown, field: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badInput(`The ${what} must be an object.`, field);
  return value as Record<string, unknown>;
}

/** Refuses any key not in `known` (a misspelt field would otherwise be silently ignored). */
export function onlyKnown(obj: Record<string, unknown>, known: readonly string[], path: string, what: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw badInput(`${what} has no field "${key}".`, at(path, key));
  }
}

/**
 * A string, trimmed, of `min` to `max` code points, without control characters other than tab and
 * line breaks.
 */
export function text(value: unknown, field: string, limits: { min: number; max: number }): string {
  if (typeof value !== 'string') throw badInput(`${field} must be a string.`, field);
  const trimmed = value.trim();
  if (FORBIDDEN_CONTROL.test(trimmed)) throw badInput(`${field} contains control characters.`, field);
  const n = charCount(trimmed);
  if (n < limits.min) {
    throw badInput(
      limits.min === 1 ? `${field} must not be empty.` : `${field} must be at least ${limits.min} characters long.`,
      field,
    );
  }
  if (n > limits.max) throw badInput(`${field} must be at most ${limits.max} characters long (it has ${n}).`, field);
  return trimmed;
}

/** An id of choices, entries, pairs or blanks (see ID_PATTERN). */
export function identifier(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value))
    throw badInput(`${field} must be 1 to 40 letters, digits, "_" or "-" (got ${JSON.stringify(value)}).`, field);
  return value;
}

/** An array of `min` to `max` elements. */
export function list(value: unknown, field: string, limits: { min: number; max: number }): unknown[] {
  if (!Array.isArray(value)) throw badInput(`${field} must be a list.`, field);
  if (value.length < limits.min || value.length > limits.max) {
    throw badInput(`${field} must have ${limits.min} to ${limits.max} entries (it has ${value.length}).`, field);
  }
  return value;
}

/** An integer from `min` to `max`. */
export function integer(value: unknown, field: string, limits: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < limits.min || value > limits.max)
    throw badInput(`${field} must be a whole number from ${limits.min} to ${limits.max}.`, field);
  return value;
}

/** A finite number (GraphQL Float can carry no NaN or infinity, but the jsonb column could). */
export function finite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badInput(`${field} must be a finite number.`, field);
  return value;
}

/** A boolean. */
export function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw badInput(`${field} must be true or false.`, field);
  return value;
}

/** Refuses the second occurrence of a key, naming where it occurs again. */
export function unique(keys: readonly string[], fieldOf: (index: number) => string, what: string): void {
  const seen = new Map<string, number>();
  keys.forEach((key, i) => {
    const first = seen.get(key);
    if (first !== undefined)
      throw badInput(`${fieldOf(i)} repeats the ${what} of ${fieldOf(first)} (${JSON.stringify(key)}).`, fieldOf(i));
    seen.set(key, i);
  });
}
