/**
 * A lesson read for generating material: its sentences, how often each term occurs, which sentences
 * define a term ("X is a …", "X means …", "X refers to …", "… is called X") and how useful each sentence
 * is to learn from. The deterministic generator (deterministic.ts) works from this.
 */
import type { SourcePassage } from '../../providers/provider.js';
import { MATERIAL_LIMITS } from './candidate.js';
import { looksLikeInstruction } from './injection.js';
import { answerShownIn, isEnumeration } from './rules.js';
import { isContentWord, splitSentences, STOP_WORDS, stem, wordKey, words, wordSpans } from './text.js';

/** A term a sentence defines, and how. */
export interface Definition {
  /** The term as written ("stack", "hash tables", "Big-O notation"). */
  term: string;
  /** Where the term sits in the sentence (for a cloze deletion). */
  termStart: number;
  termEnd: number;
  /** Its article in the sentence, lower-cased ("a", "an", "the"), or "". */
  article: string;
  /** How the sentence defines it. */
  form: 'IS' | 'ARE' | 'MEANS' | 'MEAN' | 'REFERS' | 'REFER' | 'DEFINED_AS' | 'CALLED';
  /** What the term is: "a collection where …", as written. */
  meaning: string;
}

export interface LessonSentence {
  passage: SourcePassage;
  passageIndex: number;
  /** Position in its passage. */
  index: number;
  /** Verbatim, so it can be quoted. */
  text: string;
  definition: Definition | undefined;
  /** How useful the sentence is to learn from; a key sentence scores at least KEY_SENTENCE_SCORE. */
  score: number;
}

export interface Lesson {
  /** The sentences that may become material (never headings, questions or instructions to a model). */
  sentences: LessonSentence[];
  /** How often each content-word stem and each two-word phrase (stems joined by a space) occurs. */
  frequency: Map<string, number>;
  /**
   * Words the lesson capitalises inside a sentence ("In Python …"): names, kept as written when a question
   * names them; any other capital is the sentence's and is lowered ("Recursion" → "recursion").
   */
  names: Set<string>;
  /** The terms the lesson defines, as word keys (text.ts `wordKey`). */
  definedTerms: Set<string>;
}

// Common verbs recur in any text but make poor blanks ("A lookup [...] constant time"): a deletion never
// starts with one. Compared as stems.
const LIGHT_VERBS = new Set(
  'take make give get use work happen turn stay grow look keep put call find show need want come go see land open close save pass hold let set run become seem mean refer'
    .split(' ')
    .map(stem),
);

/** A sentence worth a card scores at least this: a definition, or several of the lesson's recurring terms. */
export const KEY_SENTENCE_SCORE = 1.5;
const SENTENCE_WORDS = { min: 6, max: 40 };

// Words that cannot start a term: a sentence opening with them leans on its context ("It is a …").
const NOT_A_TERM_START = new Set(
  'it this that these those there here he she they we you i one each every some such what which who another its their our my your his her all both many most no any either neither'.split(
    ' ',
  ),
);
// A sentence opening with a pronoun needs the one before it to make sense.
const PRONOUN_START = /^(?:it|this|that|these|those|they|he|she|such|here|there)\b/i;

const TERM = String.raw`[\p{L}\p{N}][\p{L}\p{N}'’+#._-]*(?:\s+[\p{L}\p{N}][\p{L}\p{N}'’+#._-]*){0,4}?`;
// "X is a/an/the …", "X is defined as …", and plurals without an article when a relative clause or a
// preposition follows the noun ("Hash tables are structures that …").
const SUBJECT_IS = new RegExp(
  String.raw`^(?:(a|an|the)\s+)?(${TERM})\s+(is|are)\s+(?:also\s+|simply\s+|usually\s+|often\s+)?` +
    String.raw`((?:a|an|the)\s+\S.*|defined\s+as\s+\S.*|(?<=are\s+)\p{L}+s\s+(?:that|which|who|where|of|used|with|for)\s+\S.*)$`,
  'disu',
);
const SUBJECT_MEANS = new RegExp(
  String.raw`^(?:(a|an|the)\s+)?(${TERM})\s+(means|mean|refers\s+to|refer\s+to)\s+(\S.*)$`,
  'disu',
);
const CALLED = new RegExp(
  String.raw`^(\S.*?)\s+(?:is|are)\s+(?:called|known\s+as|termed)\s+(?:(a|an|the)\s+)?(${TERM})$`,
  'disu',
);

/** Reads the passages (up to MATERIAL_LIMITS.sourceChars of text in all) into a Lesson. */
export function readLesson(passages: readonly SourcePassage[]): Lesson {
  let budget = MATERIAL_LIMITS.sourceChars;
  const raw: { passage: SourcePassage; passageIndex: number; index: number; text: string }[] = [];
  passages.forEach((passage, passageIndex) => {
    if (budget <= 0 || typeof passage.text !== 'string') return;
    const text = passage.text.slice(0, budget);
    budget -= text.length;
    splitSentences(text).forEach((sentence, index) => {
      if (!sentence.heading && usable(sentence.text)) raw.push({ passage, passageIndex, index, text: sentence.text });
    });
  });

  const frequency = new Map<string, number>();
  const names = new Set<string>();
  const bump = (key: string) => frequency.set(key, (frequency.get(key) ?? 0) + 1);
  for (const { text } of raw) {
    for (const phrase of phrases(text)) bump(phrase.key);
    for (const w of words(text).slice(1)) if (/^\p{Lu}/u.test(w)) names.add(w);
  }

  const definitions = raw.map((s) => findDefinition(s.text, frequency));
  const definedTerms = new Set(definitions.flatMap((d) => (d ? [wordKey(d.term)] : [])));
  const sentences = raw.map((s, i) => {
    const definition = definitions[i];
    return { ...s, definition, score: scoreSentence(s.text, definition, frequency, definedTerms) };
  });
  return { sentences, frequency, names, definedTerms };
}

/** Sentences that may become material: a statement of reasonable length, never a question or an instruction. */
function usable(text: string): boolean {
  const n = words(text).length;
  return (
    n >= SENTENCE_WORDS.min &&
    n <= SENTENCE_WORDS.max &&
    // Room for the deletion's markup in a cloze card.
    text.length <= MATERIAL_LIMITS.clozeChars - 12 &&
    !/[?:]\s*$/.test(text) &&
    !/\{\{|\}\}|::/.test(text) &&
    !looksLikeInstruction(text)
  );
}

/** A term or phrase of a sentence that could be deleted: content words, one or two, with where they sit. */
interface Phrase {
  key: string;
  start: number;
  end: number;
  size: number;
}

/** The content words of a sentence, and each pair of adjacent content words, keyed by their stems. */
function phrases(text: string): Phrase[] {
  const spans = wordSpans(text);
  const out: Phrase[] = [];
  spans.forEach((span, i) => {
    if (!isContentWord(span.word)) return;
    out.push({ key: stem(span.word), start: span.start, end: span.end, size: 1 });
    const next = spans[i + 1];
    if (next && isContentWord(next.word) && /^[\s-]+$/.test(text.slice(span.end, next.start)))
      out.push({ key: `${stem(span.word)} ${stem(next.word)}`, start: span.start, end: next.end, size: 2 });
  });
  return out;
}

/** A term fit to be asked about: 1 to 5 words, starting and ending with a content word, not a pronoun. */
function fitTerm(term: string): boolean {
  const ws = words(term).map((w) => w.toLowerCase());
  const first = ws[0];
  const last = ws[ws.length - 1];
  return (
    first !== undefined &&
    last !== undefined &&
    ws.length <= 5 &&
    term.length <= 60 &&
    !NOT_A_TERM_START.has(first) &&
    !STOP_WORDS.has(first) &&
    !STOP_WORDS.has(last) &&
    ws.filter((w) => STOP_WORDS.has(w)).length <= 1 &&
    /\p{L}/u.test(term)
  );
}

/** The term a sentence defines, if it defines one. */
export function findDefinition(sentence: string, frequency: Map<string, number>): Definition | undefined {
  const body = sentence.replace(/[.!]+["'”’)\]]*\s*$/, '');
  // "X is a …" is also how plain statements read ("Python is a good choice"); it counts as a definition
  // only when the lesson uses the term again, which a defined term usually is.
  const recurring = (term: string) => words(term).some((w) => isContentWord(w) && (frequency.get(stem(w)) ?? 0) >= 2);

  const is = SUBJECT_IS.exec(body);
  if (is?.indices?.[2] && is[2] && is[3] && is[4] && fitTerm(is[2]) && recurring(is[2])) {
    const definedAs = /^defined\s+as\s+/i.exec(is[4]);
    const meaning = definedAs ? is[4].slice(definedAs[0].length) : is[4];
    const form = definedAs ? 'DEFINED_AS' : is[3].toLowerCase() === 'are' ? 'ARE' : 'IS';
    return definition(is[2], is.indices[2], is[1], form, meaning);
  }
  const means = SUBJECT_MEANS.exec(body);
  if (means?.indices?.[2] && means[2] && means[3] && means[4] && fitTerm(means[2])) {
    const verb = means[3].toLowerCase().replace(/\s+/g, ' ');
    const form = verb === 'means' ? 'MEANS' : verb === 'mean' ? 'MEAN' : verb === 'refers to' ? 'REFERS' : 'REFER';
    return definition(means[2], means.indices[2], means[1], form, means[4]);
  }
  const called = CALLED.exec(body);
  if (called?.indices?.[3] && called[1] && called[3] && fitTerm(called[3])) {
    const meaning = called[1].replace(/^(A|An|The)\s/, (article) => article.toLowerCase());
    return definition(called[3], called.indices[3], called[2], 'CALLED', meaning);
  }
  return undefined;
}

function definition(
  term: string,
  [termStart, termEnd]: [number, number],
  article: string | undefined,
  form: Definition['form'],
  meaning: string,
): Definition | undefined {
  if (words(meaning).length < 2) return undefined;
  // Line breaks of the source mean nothing in a card's back or a question.
  const oneLine = meaning.replace(/\s+/g, ' ').trim();
  return { term, termStart, termEnd, article: (article ?? '').toLowerCase(), form, meaning: oneLine };
}

function scoreSentence(
  text: string,
  definition: Definition | undefined,
  frequency: Map<string, number>,
  definedTerms: Set<string>,
): number {
  const recurring = new Set(
    words(text)
      .filter(isContentWord)
      .map(stem)
      .filter((s) => (frequency.get(s) ?? 0) >= 2),
  );
  // Defined terms have at most 5 words: look each run of up to 5 words of the sentence up.
  const ws = wordKey(text).split(' ');
  let mentionsDefinedTerm = false;
  for (let i = 0; i < ws.length && !mentionsDefinedTerm; i++)
    for (let n = 1; n <= 5 && i + n <= ws.length; n++)
      if (definedTerms.has(ws.slice(i, i + n).join(' '))) mentionsDefinedTerm = true;
  return (
    (definition ? 3 : 0) +
    0.5 * Math.min(6, recurring.size) +
    (mentionsDefinedTerm ? 0.5 : 0) -
    (PRONOUN_START.test(text) ? 1.5 : 0)
  );
}

/**
 * The span of a sentence best deleted in a cloze card: its defined term, or else the phrase (one or two
 * content words) the lesson uses most, a term the lesson defines counting three times over. Undefined
 * when none recurs, or when the phrase appears twice in the sentence (the blank would give itself away).
 */
export function clozeTarget(sentence: LessonSentence, lesson: Lesson): [number, number] | undefined {
  const d = sentence.definition;
  const fits = (start: number, end: number) => {
    const answer = sentence.text.slice(start, end);
    const rest = `${sentence.text.slice(0, start)} ${sentence.text.slice(end)}`;
    return (
      words(answer).length <= MATERIAL_LIMITS.deletionWords && !isEnumeration(answer) && !answerShownIn(answer, rest)
    );
  };
  if (d && fits(d.termStart, d.termEnd)) return [d.termStart, d.termEnd];
  let best: { start: number; end: number; score: number } | undefined;
  for (const phrase of phrases(sentence.text)) {
    const count = lesson.frequency.get(phrase.key) ?? 0;
    const surface = sentence.text.slice(phrase.start, phrase.end);
    if (count < 2 || (phrase.size === 1 && surface.length < 4) || LIGHT_VERBS.has(phrase.key.split(' ')[0]!)) continue;
    // A recurring two-word phrase is usually a term ("hash function", "load factor"): it beats its words.
    const score = count * (phrase.size === 2 ? 2.5 : 1) * (lesson.definedTerms.has(wordKey(surface)) ? 3 : 1);
    if ((!best || score > best.score) && fits(phrase.start, phrase.end))
      best = { start: phrase.start, end: phrase.end, score };
  }
  return best && [best.start, best.end];
}
