/**
 * The word-level text handling the tutor's rules share: tokens with their place in the original text,
 * folded (case, accents), number words as digits, a light stemmer, and the stop words that carry no
 * topic. Rules read words, never characters, so "4" is not found inside "42" nor "b" inside "bob".
 */

/** One word of a text, with where it stands in that text (for quoting and blanking). */
export interface Token {
  /** As written. */
  raw: string;
  /** Folded: lower case, accents removed, number words as digits ("Four" → "4", "twenty-one" → "21"). */
  folded: string;
  /** `folded`, lightly stemmed ("cells" → "cell"): what word comparisons use. */
  stem: string;
  start: number;
  end: number;
}

// A word: letters and digits, with inner apostrophes ("it's", "Berlin's") and decimal or grouped
// numbers ("3.14", "1,000"). Hyphens, slashes and other punctuation separate words.
const WORD = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:['’][\p{L}\p{M}]+)*(?:[.,]\p{N}+)*/gu;
const COMBINING_MARKS = /\p{M}/gu;

const UNITS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
/** Number words up to ninety-nine, as digits. Larger numbers are rarely written out in an answer. */
export const NUMBER_WORDS: ReadonlyMap<string, number> = new Map([
  ...UNITS.map((word, n) => [word, n] as const),
  ...TENS.map((word, i) => [word, (i + 2) * 10] as const),
]);

/** Lower case without accents ("Bérlin" → "berlin"), compatibility forms made plain (NFKD). */
export function foldWord(word: string): string {
  return word.normalize('NFKD').replace(COMBINING_MARKS, '').toLowerCase().replace(/’/g, "'");
}

function foldNumber(word: string): string {
  // "1,000" is one thousand; a comma followed by other than three digits is a decimal comma.
  if (/^\d{1,3}(,\d{3})+$/.test(word)) return word.replace(/,/g, '');
  return word.replace(',', '.');
}

/**
 * A light stemmer: plural and common verb endings off words longer than four letters, so "cells"
 * meets "cell" and "membranes" meets "membrane". Deliberately timid — "analysis", "status" and "class"
 * keep their s — since a wrong stem merges two different words.
 */
export function stemWord(folded: string): string {
  let word = folded.replace(/'s$/, '').replace(/'/g, '');
  if (word.length <= 4 || /\d/.test(word)) return word;
  if (word.endsWith('ies')) return word.slice(0, -3) + 'y';
  if (/(ss|x|z|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !/(ss|us|is)$/.test(word)) word = word.slice(0, -1);
  else if (word.endsWith('ing') && word.length >= 7) word = word.slice(0, -3);
  else if (word.endsWith('ed') && word.length >= 6) word = word.slice(0, -2);
  return word;
}

/** The words of a text, folded and stemmed, with tens-and-units pairs ("twenty one", "twenty-one") merged into one number. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(WORD)) {
    const raw = match[0];
    const start = match.index;
    const lower = foldWord(raw);
    const number = NUMBER_WORDS.get(lower);
    const folded = /^\p{N}/u.test(lower) ? foldNumber(lower) : number === undefined ? lower : String(number);
    const previous = tokens.at(-1);
    // "twenty-one": a tens word followed, across a space or hyphen only, by a unit one to nine.
    if (
      previous &&
      number !== undefined &&
      number >= 1 &&
      number <= 9 &&
      TENS.includes(foldWord(previous.raw)) &&
      /^[\s-]$/.test(text.slice(previous.end, start))
    ) {
      const merged = String(Number(previous.folded) + number);
      tokens[tokens.length - 1] = {
        raw: text.slice(previous.start, start + raw.length),
        folded: merged,
        stem: merged,
        start: previous.start,
        end: start + raw.length,
      };
      continue;
    }
    tokens.push({ raw, folded, stem: stemWord(folded), start, end: start + raw.length });
  }
  return tokens;
}

/**
 * English words that say nothing about a topic: function words, plus the words of talking about
 * learning itself ("explain", "lesson", "answer"), so that "can you explain the example?" is not
 * judged on its vocabulary at all.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are aren as at be because been before being below ' +
    'between both but by can cannot could did didn do does doesn doing don down during each either else even ever ' +
    'every few for from further get gets getting give go goes going got had hadn has hasn have haven having he her ' +
    'here hers herself him himself his how i if in into is isn it its itself just know let like make makes many me ' +
    'might more most much must my myself need no nor not now of off on once one only or other ought our ours ' +
    'ourselves out over own please really right same say says see she should shouldn so some still such sure take ' +
    'tell than thank thanks that the their theirs them themselves then there these they thing things think this ' +
    'those though through to too try under until up upon us use used using very want was wasn way we well were ' +
    'weren what when where which while who whom whose why will with won work would wouldn yes yet you your yours ' +
    'yourself yourselves ok okay hi hello hey lot lots something anything everything nothing someone actually ' +
    'maybe probably already always never sometimes often today now mean means meant kind sort bit ' +
    // Words of the tutoring conversation itself.
    'answer answers question questions lesson lessons course quiz test exam hint hints help explain explanation ' +
    'example examples understand understanding learn learning study idea ideas part word words correct wrong ' +
    'true false tutor teacher thing stuck confused passage paragraph section chapter page text note notes ' +
    'summary summarise summarize follow last first next end time ask asking asked'
  ).split(/\s+/),
);

/** The topic-bearing words of a text (not stop words, not numbers, at least three letters), as stems. */
export function contentStems(text: string): string[] {
  return tokenize(text)
    .filter((t) => t.folded.length >= 3 && !/^\d/.test(t.folded) && !STOP_WORDS.has(t.folded))
    .map((t) => t.stem);
}

/** Sentences of a text (split after . ! ? followed by space), trimmed, empty ones dropped. */
export function sentencesOf(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n\s*\n/u)
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .filter((s) => s.length > 0);
}

/** A small stable hash (FNV-1a), for deterministic variety in wording. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
