/**
 * Input rules for authoring. Each check throws BAD_USER_INPUT naming the offending field, before
 * anything is written, so bad input changes nothing.
 */
import { badInput, isUuid } from '@coursegraph/service-kit';
import { categoryBySlug } from './categories.js';

export const LIMITS = {
  courseTitle: { min: 3, max: 120 },
  itemTitle: { min: 1, max: 120 },
  summary: 300,
  description: 20_000,
  moduleSummary: 500,
  body: 100_000,
  slug: { min: 3, max: 80 },
  tags: 20,
  tag: 40,
  maxPriceMinor: 100_000_000,
  maxDurationSeconds: 86_400,
  modulesPerCourse: 50,
  lessonsPerModule: 100,
  prerequisites: 20,
} as const;

// NUL cannot be stored in PostgreSQL text; other control characters have no place in a one-line field.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SINGLE_LINE_FORBIDDEN = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- as above, less tab and line breaks
const MULTI_LINE_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function singleLine(raw: string, field: string, limits: { min: number; max: number }, label = field): string {
  const value = raw.trim();
  if (SINGLE_LINE_FORBIDDEN.test(value))
    throw badInput(`The ${label} must be one line of text without control characters.`, field);
  if (value.length < limits.min || value.length > limits.max) {
    throw badInput(`The ${label} must be ${limits.min} to ${limits.max} characters long.`, field);
  }
  return value;
}

export function text(raw: string, field: string, max: number, label = field): string {
  const value = raw.trim();
  if (MULTI_LINE_FORBIDDEN.test(value)) throw badInput(`The ${label} contains control characters.`, field);
  if (value.length > max) throw badInput(`The ${label} must be at most ${max} characters long.`, field);
  return value;
}

export const courseTitle = (raw: string) => singleLine(raw, 'title', LIMITS.courseTitle);
export const itemTitle = (raw: string) => singleLine(raw, 'title', LIMITS.itemTitle);

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function slug(raw: string, field = 'slug'): string {
  const value = raw.trim();
  if (value.length < LIMITS.slug.min || value.length > LIMITS.slug.max || !SLUG.test(value)) {
    throw badInput(
      `The slug must be ${LIMITS.slug.min} to ${LIMITS.slug.max} lower-case letters, digits and single dashes (like "intro-to-sql").`,
      field,
    );
  }
  return value;
}

const CYRILLIC: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'e',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'y',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'h',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'sch',
  ъ: '',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'yu',
  я: 'ya',
};

/** A readable slug from a title ("Основы SQL" -> "osnovy-sql"); "course" when nothing usable is left. */
export function slugFromTitle(title: string): string {
  const latin = [...title.toLowerCase()].map((ch) => CYRILLIC[ch] ?? ch).join('');
  const base = latin
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return base.length >= LIMITS.slug.min ? base : 'course';
}

export function category(raw: string, field = 'category'): string {
  const value = raw.trim();
  if (!categoryBySlug(value))
    throw badInput(`Unknown category "${value.slice(0, 60)}"; see the categories query.`, field);
  return value;
}

const TAG = /^[\p{L}\p{N}][\p{L}\p{N} .+#-]*$/u;

/** Tags are compared lower-case and without surrounding or repeated spaces; duplicates collapse. */
export function tags(raw: readonly string[], field = 'tags'): string[] {
  if (raw.length > LIMITS.tags) throw badInput(`At most ${LIMITS.tags} tags.`, field);
  const out: string[] = [];
  for (const t of raw) out.push(tag(t, field));
  return [...new Set(out)];
}

export function tag(raw: string, field = 'tag'): string {
  const value = raw.trim().replace(/\s+/g, ' ').toLowerCase();
  if (value.length === 0 || value.length > LIMITS.tag || !TAG.test(value)) {
    throw badInput(`Each tag must be 1 to ${LIMITS.tag} characters: letters, digits, spaces and . + # -.`, field);
  }
  return value;
}

/** A BCP 47 tag in canonical form ("EN" -> "en", "pt-br" -> "pt-BR"). */
export function language(raw: string, field = 'language'): string {
  const value = raw.trim();
  let canonical: string[] = [];
  try {
    if (value.length > 0 && value.length <= 35) canonical = Intl.getCanonicalLocales(value);
  } catch {
    // Not a well-formed tag: reported below.
  }
  if (canonical.length !== 1)
    throw badInput(`"${value.slice(0, 40)}" is not a BCP 47 language tag (like en, ru, pt-BR).`, field);
  return canonical[0]!;
}

export interface Price {
  amountMinor: number;
  currency: string;
}

export function price(raw: Price, field = 'price'): Price {
  if (!/^[A-Z]{3}$/.test(raw.currency))
    throw badInput('The currency must be an ISO 4217 code of three capital letters (like USD).', `${field}.currency`);
  if (!Number.isInteger(raw.amountMinor) || raw.amountMinor < 0 || raw.amountMinor > LIMITS.maxPriceMinor) {
    throw badInput(
      `The amount must be a whole number of minor units from 0 (free) to ${LIMITS.maxPriceMinor}.`,
      `${field}.amountMinor`,
    );
  }
  return { amountMinor: raw.amountMinor, currency: raw.currency };
}

export function durationSeconds(raw: number, field = 'durationSeconds'): number {
  if (!Number.isInteger(raw) || raw < 0 || raw > LIMITS.maxDurationSeconds) {
    throw badInput(`The duration must be 0 to ${LIMITS.maxDurationSeconds} seconds.`, field);
  }
  return raw;
}

/** A 0-based position among `count` items (count itself appends when inserting). */
export function position(raw: number, count: number, field = 'position'): number {
  if (!Number.isInteger(raw) || raw < 0 || raw > count)
    throw badInput(`The position must be from 0 to ${count}.`, field);
  return raw;
}

/** Ids are UUIDs; anything else cannot name a row, and is reported rather than looked up. */
export function id(raw: string, field: string): string {
  if (!isUuid(raw)) throw badInput(`"${raw.slice(0, 40)}" is not a valid id.`, field);
  return raw.toLowerCase();
}
