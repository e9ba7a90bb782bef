/**
 * Text → index terms, shared by the lexical index (bm25.ts) and the hashed embedding, so a query and
 * a passage always meet on the same terms: lower-cased Unicode word tokens, English stop words out,
 * then a light suffix stemmer.
 */

/**
 * A word: letters, marks and digits, which may continue after a dot or apostrophe ("node.js",
 * "3.14", "don't") and may end in "++" or "#" ("c++", "c#"). Hyphens and other punctuation split.
 */
const WORD = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:[.'’][\p{L}\p{N}][\p{L}\p{M}\p{N}]*)*(?:\+\+|#)?(?![\p{L}\p{N}])/gu;

/**
 * An operator written on its own between spaces (":=", "=>", "??", "<-"): in a programming lesson it
 * is what a learner asks about ("what is := in Go?"). Only these, so "?!" or "--" in prose is not a term.
 */
const LONE_SYMBOLS = /(?<=^|\s)[^\s\p{L}\p{N}]{2,3}(?=$|\s)/gu;
const OPERATORS: ReadonlySet<string> = new Set([
  ':=',
  '=>',
  '->',
  '<-',
  '==',
  '===',
  '!=',
  '!==',
  '<=',
  '>=',
  '&&',
  '||',
  '??',
  '?.',
  '**',
  '::',
  '|>',
  '<<',
  '>>',
]);

/** Words too common in English to tell passages apart (contractions written without the apostrophe). */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below ' +
    'between both but by can cannot could did do does doing done down during each either else etc ever every ' +
    'few for from further get gets got had has have having he her here hers herself him himself his how i if ' +
    'in into is it its itself just let lets may me might more most much must my myself no nor not now of off ' +
    'on once one only or other our ours ourselves out over own same shall she should so some such than that ' +
    'the their theirs them themselves then there these they this those through thus to too under until up upon ' +
    'us very via was we were what when where whether which while who whom whose why will with within without ' +
    'would yet you your yours yourself yourselves ' +
    'dont doesnt didnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt im ive youre youve theyre ' +
    'weve its thats theres whats'
  ).split(' '),
);

const VOWELS = /[aeiouy]/;

/**
 * A light English suffix stemmer (plurals, -ed, -ing, a final -y or -e), so "caching", "cached",
 * "caches" and "cache" share the stem "cach". Only plain a–z words are stemmed: "node.js", "c++",
 * numbers and words of other scripts stay as they are. Irregular forms are left alone on purpose:
 * a wrong merge costs more precision than a missed one costs recall, and the embedding's character
 * trigrams catch near-misses anyway.
 */
export function stem(word: string): string {
  if (word.length < 3 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  // Plurals, in words long enough not to be "gas" or "yes".
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}i`;
  else if (w.endsWith('s') && w.length > 3 && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);

  for (const suffix of ['ing', 'ed']) {
    if (!w.endsWith(suffix) || w.endsWith('eed')) continue;
    const rest = w.slice(0, -suffix.length);
    // "string" and "bed" keep their ending: what would remain is too short or has no vowel.
    if (rest.length < 2 || !VOWELS.test(rest)) break;
    w = /([^aeiouylsz])\1$/.test(rest) ? rest.slice(0, -1) : rest; // running → runn → run
    break;
  }
  // study / studies / studied → studi; play stays (a vowel before the y).
  if (w.length > 3 && w.endsWith('y') && !/[aeiou]/.test(w[w.length - 2]!)) w = `${w.slice(0, -1)}i`;
  // make / making → mak; use / used / using → us.
  if (w.length > 2 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/** The lower-cased word tokens (and lone operators) of a text, stop words included, possessives and apostrophes removed. */
export function words(text: string): string[] {
  const found: { at: number; word: string }[] = [];
  const normalised = text.normalize('NFKC').toLowerCase();
  for (const match of normalised.matchAll(WORD)) {
    found.push({ at: match.index, word: match[0].replace(/['’]s$/, '').replace(/['’]/g, '') });
  }
  for (const match of normalised.matchAll(LONE_SYMBOLS)) {
    if (OPERATORS.has(match[0])) found.push({ at: match.index, word: match[0] });
  }
  return found.sort((a, b) => a.at - b.at).map(({ word }) => word);
}

/** The index terms of a text, in order (repeats kept, for term frequencies). */
export function tokenize(text: string): string[] {
  return words(text)
    .filter((word) => word.length > 0 && !STOP_WORDS.has(word))
    .map(stem);
}
