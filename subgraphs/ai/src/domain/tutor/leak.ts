/**
 * The answer-leak validator: does a tutor reply state the answer of a graded-quiz item the learner has
 * an open attempt on? Used on every real-provider reply (a leaking reply is replaced by the
 * deterministic tutor's) and, as a last guard, on the deterministic tutor's own replies.
 *
 * How an answer is found in a reply (both sides are tokenized the same way, see text.ts):
 * - Case, accents, punctuation and spacing do not matter: "BERLIN", "Bérlin" and "Berlin." all match.
 * - Numbers match as digits or words: "4" ~ "four", "21" ~ "twenty-one".
 * - Multi-word answers match word for word with light inflection ("cell membranes" for "cell
 *   membrane"), written together ("email" for "e-mail"), and without a leading article.
 * - Whole words only: "4" is not in "42", "b" is not in "bob", "art" is not in "start".
 * - Short answers (one word of at most two characters, or a number word) can be ordinary English: the
 *   article "a", the pronoun "I", "one step", "no idea". When the answer is such a function word, it
 *   counts as a leak only when it stands alone as an answer would — not directly followed by another
 *   word ("(a)", "a)", "the answer is a.", "is it one?") — or, for a single letter, when it is written
 *   as a capital in the middle of a sentence ("option A is right"), which the article never is.
 *   Digits and the other number words always count ("spans seven semitones" states the answer 7): a
 *   tutor has no ordinary reason to write "4" while a quiz whose answer is 4 is open, and "two
 *   approaches" flagged for the answer 2 is the accepted price.
 * - Obfuscations a model can be talked into: the answer spelled out letter by letter ("B-e-r-l-i-n",
 *   "B E R L I N"), written backwards ("nilreB"), or encoded in base64.
 * A first letter alone ("it starts with B") is a hint, not the answer, and is not flagged.
 * False positives cost little (the deterministic reply is used instead); false negatives harm learning.
 */
import { Buffer } from 'node:buffer';
import { NUMBER_WORDS, STOP_WORDS, tokenize, type Token } from './text.js';

/** Where a protected answer appears in a text. */
export interface AnswerSpan {
  /** The protected answer, as given. */
  answer: string;
  start: number;
  end: number;
}

interface PreparedAnswer {
  answer: string;
  stems: string[];
  /** The answer's words written together ("e-mail" → "email"), for joined and spelled-out forms. */
  joined: string;
  short: boolean;
}

const LEADING_ARTICLES = new Set(['the', 'a', 'an']);
// Words that may be ordinary English when a short answer equals them: function words ("a", "I", "no",
// "one"), but not other number words — "spans seven semitones" states the answer 7 even though a noun
// follows, so "two approaches" is flagged for the answer 2 as the price of that.
const ORDINARY_SHORT_WORDS = STOP_WORDS;
// A run of single characters separated by hyphens, spaces, dots, commas or underscores: "B-e-r-l-i-n".
const SPELLED_OUT = /(?<![\p{L}\p{N}])[\p{L}\p{N}](?:[\s.,_·-]{1,3}[\p{L}\p{N}](?![\p{L}\p{N}])){2,}/gu;
const BASE64_RUN = /[A-Za-z0-9+/]{8,}={0,2}/g;

function prepare(answers: readonly string[]): PreparedAnswer[] {
  const prepared: PreparedAnswer[] = [];
  for (const answer of answers) {
    let tokens = tokenize(answer);
    if (tokens.length > 1 && LEADING_ARTICLES.has(tokens[0]!.folded)) tokens = tokens.slice(1);
    if (tokens.length === 0) continue; // only punctuation: nothing a reply could state
    const first = tokens[0]!;
    prepared.push({
      answer,
      stems: tokens.map((t) => t.stem),
      joined: tokens.map((t) => t.folded).join(''),
      short: tokens.length === 1 && (first.folded.length <= 2 || NUMBER_WORDS.has(first.raw.toLowerCase())),
    });
  }
  return prepared;
}

/** True when a short answer's word at `index` is ordinary English rather than an answer standing alone. */
function isOrdinaryUse(text: string, tokens: Token[], index: number): boolean {
  const token = tokens[index]!;
  if (!/^\p{L}+$/u.test(token.raw) || !ORDINARY_SHORT_WORDS.has(token.raw.toLowerCase())) return false;
  // A capital single letter mid-sentence is a label ("option A"), not the article or a pronoun "I"...
  if (/^\p{Lu}$/u.test(token.raw) && token.raw !== 'I') {
    const before = text.slice(0, token.start).trimEnd();
    const sentenceStart = before === '' || /[.!?:"“(\n]$/.test(before);
    if (!sentenceStart) return false;
  }
  // ...otherwise the word is ordinary when another word follows it directly ("a hint", "I think").
  return /^[\s-]*\p{L}/u.test(text.slice(token.end));
}

function wordSpans(text: string, tokens: Token[], answer: PreparedAnswer): AnswerSpan[] {
  const spans: AnswerSpan[] = [];
  const n = answer.stems.length;
  for (let i = 0; i + n <= tokens.length; i += 1) {
    let matches = true;
    for (let k = 0; k < n && matches; k += 1) matches = tokens[i + k]!.stem === answer.stems[k];
    if (matches && answer.short && isOrdinaryUse(text, tokens, i)) matches = false;
    if (matches) spans.push({ answer: answer.answer, start: tokens[i]!.start, end: tokens[i + n - 1]!.end });
  }
  // "email" for "e-mail": the answer's words written as one.
  if (n > 1) {
    for (const token of tokens) {
      if (token.folded === answer.joined) spans.push({ answer: answer.answer, start: token.start, end: token.end });
    }
  }
  return spans;
}

function obfuscatedSpans(text: string, tokens: Token[], answer: PreparedAnswer): AnswerSpan[] {
  const spans: AnswerSpan[] = [];
  const reversed = [...answer.joined].reverse().join('');
  // Backwards: only for answers long enough that their reverse is not itself a common word.
  if (answer.joined.length >= 4) {
    for (const token of tokens) {
      if (token.folded === reversed) spans.push({ answer: answer.answer, start: token.start, end: token.end });
    }
  }
  // Spelled out: for answers of three characters or more with a letter (a list like "1, 2, 3" is not
  // a number spelled out).
  if (answer.joined.length >= 3 && /\p{L}/u.test(answer.joined)) {
    for (const run of text.matchAll(SPELLED_OUT)) {
      const letters = tokenize(run[0].replace(/[\s.,_·-]/gu, ''))[0]?.folded ?? '';
      if (letters.includes(answer.joined) || (answer.joined.length >= 4 && letters.includes(reversed))) {
        spans.push({ answer: answer.answer, start: run.index, end: run.index + run[0].length });
      }
    }
  }
  return spans;
}

/** Text hidden as base64 in a reply, when it decodes to readable text. */
function base64Payloads(text: string): { start: number; end: number; decoded: string }[] {
  const payloads: { start: number; end: number; decoded: string }[] = [];
  for (const run of text.matchAll(BASE64_RUN)) {
    // Plain words ("understanding") also look like base64; real payloads mix case or digits.
    if (!/[A-Z]/.test(run[0]) || !/[a-z0-9]/.test(run[0])) continue;
    const decoded = Buffer.from(run[0], 'base64').toString('utf8');
    if (decoded.length > 0 && /^[\p{L}\p{N}\p{P}\p{Zs}]+$/u.test(decoded)) {
      payloads.push({ start: run.index, end: run.index + run[0].length, decoded });
    }
  }
  return payloads;
}

/** Every place where one of `protectedAnswers` is stated in `text`, in text order. */
export function findAnswerSpans(text: string, protectedAnswers: readonly string[]): AnswerSpan[] {
  const answers = prepare(protectedAnswers);
  if (answers.length === 0) return [];
  const tokens = tokenize(text);
  const spans = answers.flatMap((answer) => [
    ...wordSpans(text, tokens, answer),
    ...obfuscatedSpans(text, tokens, answer),
  ]);
  for (const payload of base64Payloads(text)) {
    const decodedTokens = tokenize(payload.decoded);
    for (const answer of answers) {
      if (wordSpans(payload.decoded, decodedTokens, answer).length > 0) {
        spans.push({ answer: answer.answer, start: payload.start, end: payload.end });
      }
    }
  }
  return spans.sort((a, b) => a.start - b.start || b.end - a.end);
}

/** The protected answers that `reply` states (each once, in the order given). */
export function findAnswerLeaks(reply: string, protectedAnswers: readonly string[]): string[] {
  const found = new Set(findAnswerSpans(reply, protectedAnswers).map((span) => span.answer));
  return protectedAnswers.filter((answer) => found.has(answer)).filter((a, i, all) => all.indexOf(a) === i);
}

/** The verdict on a real provider's reply: `ok` when it states none of the protected answers. */
export function guardReply(reply: string, protectedAnswers: readonly string[]): { ok: boolean; leaks: string[] } {
  const leaks = findAnswerLeaks(reply, protectedAnswers);
  return { ok: leaks.length === 0, leaks };
}

/** `text` with every statement of a protected answer replaced by `mask` (quoting a passage without its answer). */
export function blankAnswers(text: string, protectedAnswers: readonly string[], mask = '____'): string {
  let result = '';
  let cursor = 0;
  for (const span of findAnswerSpans(text, protectedAnswers)) {
    if (span.start < cursor) continue; // overlaps a span already blanked
    result += text.slice(cursor, span.start) + mask;
    cursor = span.end;
  }
  return result + text.slice(cursor);
}
