/**
 * The text handling generation and validation share: sentence splitting of lesson text, words, content
 * words (stop words dropped, lightly stemmed) and a normal form for comparing texts.
 */

/** A sentence of a text: its verbatim slice and where it sits. */
export interface Sentence {
  text: string;
  start: number;
  end: number;
  /** A Markdown heading line (`# …`): a title, never a sentence to learn from. */
  heading: boolean;
}

// Abbreviations after which a full stop does not end a sentence (compared lower-cased, without the dot).
const ABBREVIATIONS = new Set([
  'e.g',
  'i.e',
  'cf',
  'vs',
  'dr',
  'mr',
  'mrs',
  'ms',
  'prof',
  'fig',
  'figs',
  'no',
  'nos',
  'approx',
  'st',
  'jr',
  'sr',
  'al',
  'eq',
  'sec',
  'ch',
  'vol',
  'pp',
  'p',
  'ca',
  'inc',
  'ltd',
]);

/** Ranges [start, end) of code: fenced blocks (never material) and inline `code` spans (never split). */
function codeRanges(text: string): { fenced: [number, number][]; inline: [number, number][] } {
  const fenced: [number, number][] = [];
  for (const m of text.matchAll(/^[ \t]*```[^\n]*\n[\s\S]*?(?:^[ \t]*```[^\n]*$|(?![\s\S]))/gm)) {
    fenced.push([m.index, m.index + m[0].length]);
  }
  const inline: [number, number][] = [];
  for (const m of text.matchAll(/`[^`\n]+`/g)) inline.push([m.index, m.index + m[0].length]);
  return { fenced, inline };
}

const rangeAt = (ranges: [number, number][], i: number) => ranges.find(([s, e]) => i >= s && i < e);

/** The word just before position `dot` (letters, digits and inner dots), lower-cased. */
function wordBefore(text: string, dot: number): string {
  let s = dot;
  while (s > 0 && /[\p{L}\p{N}.]/u.test(text[s - 1]!)) s--;
  return text.slice(s, dot).toLowerCase();
}

/** True when a full stop at `dot` ends a sentence rather than an abbreviation, initial or ellipsis. */
function fullStopEnds(text: string, dot: number, next: string | undefined): boolean {
  const word = wordBefore(text, dot);
  if (ABBREVIATIONS.has(word)) return false;
  // Initials and dotted abbreviations: "J. Smith", "U.S.", "e.g.".
  if (/^\p{L}$/u.test(word) && /\p{Lu}/u.test(text[dot - 1]!)) return false;
  if (/^(?:\p{L}\.)+\p{L}$/u.test(word)) return false;
  // The next sentence starts with a capital, a digit, a quote, a bracket or code; anything else
  // ("approx. three", "…and so on. and") continues this one.
  return next === undefined || /[\p{Lu}\p{N}"'“‘(`[]/u.test(next);
}

const LIST_MARKER = /^(?:[-*+•]\s+|\d{1,3}[.)]\s+|>\s*)/;

/**
 * Splits lesson text into sentences, each a verbatim slice (so it can be quoted). Ends a sentence at
 * `.`, `!` or `?` followed by a space and a new sentence, except after abbreviations and initials and
 * inside `inline code`; decimals such as 3.14 never end one. Blank lines, list items and headings end
 * sentences too; fenced code blocks are left out.
 */
export function splitSentences(text: string): Sentence[] {
  const { fenced, inline } = codeRanges(text);
  const out: Sentence[] = [];
  let start = 0;
  const emit = (end: number) => {
    let s = start;
    let e = end;
    while (s < e && /\s/.test(text[s]!)) s++;
    while (e > s && /\s/.test(text[e - 1]!)) e--;
    const marker = LIST_MARKER.exec(text.slice(s, e));
    if (marker) s += marker[0].length;
    if (s < e) {
      const slice = text.slice(s, e);
      out.push({ text: slice, start: s, end: e, heading: /^#{1,6}\s/.test(slice) });
    }
  };
  let i = 0;
  while (i < text.length) {
    const block = rangeAt(fenced, i);
    if (block) {
      emit(i);
      i = block[1];
      start = i;
      continue;
    }
    const code = rangeAt(inline, i);
    if (code) {
      i = code[1];
      continue;
    }
    const ch = text[i]!;
    if (ch === '\n') {
      // A blank line, a list item, a heading, or the end of a heading line ends the sentence.
      const rest = text.slice(i + 1, i + 12);
      const lineStart = text.lastIndexOf('\n', i - 1) + 1;
      const onHeading = /^\s*#{1,6}\s/.test(text.slice(lineStart, i));
      if (onHeading || /^[ \t]*(?:\n|[-*+•]\s|\d{1,3}[.)]\s|#{1,6}\s|>)/.test(rest)) {
        emit(i);
        start = i + 1;
      }
      i++;
      continue;
    }
    if (ch === '.' || ch === '!' || ch === '?') {
      let j = i + 1;
      // "?!", "...", and closing quotes or brackets belong to the sentence that ends.
      while (j < text.length && /[.!?"'”’)\]]/.test(text[j]!)) j++;
      const after = text[j];
      if (after !== undefined && !/\s/.test(after)) {
        i = j;
        continue;
      }
      let k = j;
      while (k < text.length && /\s/.test(text[k]!)) k++;
      const next = text[k];
      const ends =
        ch === '.' && j === i + 1 ? fullStopEnds(text, i, next) : next === undefined || !/\p{Ll}/u.test(next);
      if (ends) {
        emit(j);
        start = j;
      }
      i = j;
      continue;
    }
    i++;
  }
  emit(text.length);
  return out;
}

/** Words as a reader counts them: letters and digits, with inner apostrophes, dots, hyphens ("3.14", "don't"). */
export function words(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+(?:[.'’_+-][\p{L}\p{N}]+)*/gu) ?? [];
}

/** Words with their offsets in `text`. */
export function wordSpans(text: string): { word: string; start: number; end: number }[] {
  return [...text.matchAll(/[\p{L}\p{N}]+(?:[.'’_+-][\p{L}\p{N}]+)*/gu)].map((m) => ({
    word: m[0],
    start: m.index,
    end: m.index + m[0].length,
  }));
}

export const wordCount = (text: string): number => words(text).length;

/** English function words: they carry no fact, so support and similarity ignore them. */
export const STOP_WORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each either else ever every few for from ' +
    'further had has have having he her here hers herself him himself his how however i if in into is it its ' +
    'itself just least less let like many may me might more most much must my myself neither no nor not now of ' +
    'off often on once one only onto or other others our ours ourselves out over own per quite rather same she ' +
    'should since so some such than that the their theirs them themselves then there these they this those ' +
    'though through thus to too under until up upon us very via was we were what whatever when where whereas ' +
    'whether which while who whom whose why will with within without would yet you your yours yourself ' +
    "yourselves it's that's there's isn't aren't don't doesn't can't won't"
  ).split(/\s+/),
);

/**
 * A light stemmer (plural, -ing, -ed, final e), so "caches", "cached" and "cache" compare equal. It is not
 * linguistics: both sides of every comparison go through it, which is what matters.
 */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/['’]s$/, '');
  if (/^\p{N}/u.test(w) || w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(?:ss|x|ch|sh|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) w = w.slice(0, -3);
  else if (w.endsWith('ed') && w.length > 4) w = w.slice(0, -2);
  if (w.endsWith('e') && w.length > 3) w = w.slice(0, -1);
  // "stopped" → "stopp" → "stop": a doubled final consonant left by a suffix.
  if (/([b-df-hj-np-tv-z])\1$/.test(w) && !/(?:ll|ss|zz)$/.test(w)) w = w.slice(0, -1);
  return w;
}

export const isContentWord = (word: string): boolean => {
  const w = word.toLowerCase();
  return !STOP_WORDS.has(w) && (w.length > 1 || /\p{N}/u.test(w));
};

/** The stems of the content words of a text, in order (repeats kept). */
export function contentStems(text: string): string[] {
  return words(text).filter(isContentWord).map(stem);
}

/**
 * The form texts are compared in: Unicode-normalised (NFKC), lower-cased, curly quotes and dashes made
 * plain, whitespace collapsed. A quote matches its passage in this form, so line breaks and spacing in
 * either never matter.
 */
export function normaliseText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[‘’‛′]/g, "'")
    .replace(/[“”„″]/g, '"')
    .replace(/[‐‑‒–—―]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The words of a text, lower-cased, joined by single spaces: punctuation and spacing never matter. */
export const wordKey = (text: string): string => words(normaliseText(text)).join(' ');
