/**
 * How typed answers are compared (SHORT_TEXT items and CLOZE blanks): two texts match when their
 * normalised forms are equal. Accents and letters of every script are kept ("café" ≠ "cafe",
 * "ё" ≠ "е"); only differences a reader would not call a different answer are removed.
 */

// Sentence-ending punctuation of every script (. , ; : ! ? 。 ؟ । …), but not # + ' ) and the
// like, which can be part of an answer ("C#", "f(x)").
const TRAILING = /[\p{Terminal_Punctuation}\s]+$/u;
const INNER_WHITESPACE = /\s+/gu;
// Invisible characters that pasted text often carries (soft hyphen, zero-width space, word joiner,
// byte-order mark); ZWJ/ZWNJ are kept because they change how some scripts and emoji read.
const INVISIBLE = /[\u00ad\u200b\u2060\ufeff]/gu;

/**
 * The normalised form of a typed answer: Unicode NFKC (full-width and compatibility forms become
 * their plain letters, composed and decomposed accents become the same), case-folded (upper-casing
 * then lower-casing, so "ß" and "SS" meet and final sigma matches sigma), invisible characters
 * dropped, trimmed, inner whitespace collapsed to one space, and trailing sentence punctuation
 * dropped. An answer that is only punctuation normalises to "".
 */
export function normaliseAnswerText(raw: string): string {
  const folded = raw.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
  return folded.replace(INVISIBLE, '').trim().replace(TRAILING, '').replace(INNER_WHITESPACE, ' ');
}

/** True when `answer` matches one of `accepted` once both are normalised (an empty answer never matches). */
export function matchesAccepted(answer: string, accepted: readonly string[]): boolean {
  const given = normaliseAnswerText(answer);
  return given !== '' && accepted.some((a) => normaliseAnswerText(a) === given);
}
