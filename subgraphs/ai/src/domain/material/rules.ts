/**
 * The rules a candidate must meet, as small functions: the validator reports each failure, and the
 * deterministic generator uses the same functions so that it never writes what the validator rejects.
 */
import { createHash } from 'node:crypto';
import { type MaterialCandidate, MATERIAL_LIMITS, materialKind } from './candidate.js';
import { contentStems, STOP_WORDS, stem, wordKey, words } from './text.js';

/**
 * An answer is supported by a quote when at least this share of its content-word stems occur in the
 * quote. Not 100%: a model may paraphrase one word of a longer answer ("stores keys with values" for
 * "a store of keys and values"); 75% lets an answer of four or more content words differ in one, while
 * an answer of one to three content words must be wholly in the quote. Distractors are held to the same
 * line from the other side: one the quote supports this well would be a second right answer.
 */
export const SUPPORT_THRESHOLD = 0.75;

/**
 * Two candidates of one kind are near-duplicates when the Jaccard similarity of their content-word sets
 * (answer words marked apart from question words) is at least this. A reworded question on the same fact
 * shares nearly all its words; two facts about the same term share the term and little else, well below.
 */
export const NEAR_DUPLICATE_JACCARD = 0.8;

/** Share (0..1) of the content-word stems of `answer` that occur in `quote`; 0 when it has none. */
export function supportRatio(answer: string, quote: string): number {
  return shareOf(new Set(contentStems(answer)), new Set(contentStems(quote)));
}

/** Share (0..1) of `wanted` that is in `present`; 0 when `wanted` is empty. */
export function shareOf(wanted: ReadonlySet<string>, present: ReadonlySet<string>): number {
  if (wanted.size === 0) return 0;
  let found = 0;
  for (const s of wanted) if (present.has(s)) found++;
  return found / wanted.size;
}

export const isSupported = (answer: string, quote: string): boolean => supportRatio(answer, quote) >= SUPPORT_THRESHOLD;

/** Words a question is made of whatever it asks: they say nothing of its topic. */
const QUESTION_WORDS = new Set(
  [
    'describe',
    'describes',
    'best',
    'following',
    'term',
    'name',
    'names',
    'called',
    'true',
    'statement',
    'mean',
    'means',
  ]
    .map(stem)
    .concat([...STOP_WORDS].map(stem)),
);

/** True when the question shares at least one topic word with the quote (it asks about what the quote says). */
export function questionIsGrounded(question: string, quote: string): boolean {
  const quoteStems = new Set(contentStems(quote));
  return contentStems(question).some((s) => !QUESTION_WORDS.has(s) && quoteStems.has(s));
}

/** The number of list entries in a text: parts between commas, semicolons, "and", "or", bullets and line breaks. */
export function listParts(text: string): number {
  return text
    .split(/[,;\n•]|\band\b|\bor\b/i)
    .map((part) => part.trim())
    .filter((part) => words(part).length > 0).length;
}

/** An enumeration of many items: one card should ask for one fact, not a list. */
export const isEnumeration = (text: string): boolean =>
  listParts(text) >= MATERIAL_LIMITS.enumerationParts || /(?:^|\n)\s*(?:[-*•]|\d+[.)])\s/.test(text);

/** True when `text` is one question: a single question mark, at its end. */
export function isSingleQuestion(text: string): boolean {
  const marks = text.match(/[?？]/g)?.length ?? 0;
  return marks === 1 && /[?？]\s*$/.test(text);
}

// learning's cloze syntax (subgraphs/learning/src/domain/cloze.ts): {{c1::answer}} or {{c1::answer::hint}}.
const DELETION = /\{\{c(\d{1,2})::(.*?)(?:::(.*?))?\}\}/g;

export interface ClozeParts {
  /** How many deletions the text has. */
  deletions: number;
  /** The ordinals, in order of appearance. */
  ordinals: number[];
  /** The first deletion's answer and hint. */
  answer: string;
  hint: string | undefined;
  /** The text with every deletion replaced by its answer (what the learner reads on the back). */
  revealed: string;
  /** The text with the first deletion removed: what the learner sees around the blank. */
  context: string;
  /** Braces left over once the deletions are taken out: a malformed deletion. */
  strayBraces: boolean;
}

export function clozeParts(text: string): ClozeParts {
  const matches = [...text.matchAll(DELETION)];
  const first = matches[0];
  const revealed = text.replace(DELETION, (_m, _n: string, answer: string) => answer);
  const context = first
    ? `${text.slice(0, first.index)} ${text.slice(first.index + first[0].length)}`.replace(
        DELETION,
        (_m, _n: string, answer: string) => answer,
      )
    : text;
  return {
    deletions: matches.length,
    ordinals: matches.map((m) => Number(m[1])),
    answer: first?.[2] ?? '',
    hint: first?.[3],
    revealed,
    context,
    strayBraces: /\{\{|\}\}/.test(text.replace(DELETION, '')),
  };
}

/** True when the words of `answer` appear, in order, as a phrase of `question`: the question gives it away. */
export function answerShownIn(answer: string, question: string): boolean {
  const key = wordKey(answer);
  return key !== '' && ` ${wordKey(question)} `.includes(` ${key} `);
}

/** The question side and the answer side of a candidate, for duplicates and give-aways. */
export function questionAndAnswer(candidate: MaterialCandidate): { question: string; answer: string } {
  if ('type' in candidate)
    return { question: candidate.prompt, answer: candidate.choices[candidate.correctIndex] ?? '' };
  if (candidate.kind === 'BASIC') return { question: candidate.front, answer: candidate.back };
  const parts = clozeParts(candidate.text);
  return { question: parts.context, answer: parts.answer };
}

/**
 * A stable fingerprint of what a candidate asks and answers: its kind, its question and its answer in
 * normal form (case, spacing and punctuation ignored), hashed. Store it with a unique index per course to
 * refuse exact duplicates in the database too.
 */
export function fingerprint(candidate: MaterialCandidate): string {
  const { question, answer } = questionAndAnswer(candidate);
  const canonical = `${materialKind(candidate)}\n${wordKey(question)}\n${wordKey(answer)}`;
  return createHash('sha256').update(canonical).digest('hex');
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

export type DuplicateFinding =
  | { code: 'DUPLICATE'; of: MaterialCandidate; why: string }
  | { code: 'NEAR_DUPLICATE'; of: MaterialCandidate; similarity: number };

interface Indexed {
  candidate: MaterialCandidate;
  print: string;
  /** Normal form of a BASIC front or a quiz prompt; undefined for cloze (one sentence makes several). */
  question: string | undefined;
  words: Set<string>;
}

/**
 * Material already kept (a course's earlier items, then each accepted candidate of a batch), to find
 * duplicates of a new one: the same fingerprint, the same question (a BASIC front or a quiz prompt asked
 * twice, whatever the answers), or content words at least NEAR_DUPLICATE_JACCARD alike. Only candidates
 * of the same kind are compared: a cloze and a basic card on one fact are two ways of learning it.
 */
export class MaterialIndex {
  private readonly byKind = new Map<string, Indexed[]>();

  constructor(candidates: Iterable<MaterialCandidate> = []) {
    for (const candidate of candidates) this.add(candidate);
  }

  add(candidate: MaterialCandidate): void {
    const kind = materialKind(candidate);
    const list = this.byKind.get(kind) ?? [];
    list.push(indexed(candidate));
    this.byKind.set(kind, list);
  }

  findDuplicate(candidate: MaterialCandidate): DuplicateFinding | undefined {
    const own = indexed(candidate);
    for (const other of this.byKind.get(materialKind(candidate)) ?? []) {
      if (other.print === own.print)
        return { code: 'DUPLICATE', of: other.candidate, why: 'the same question and answer' };
      if (own.question !== undefined && other.question === own.question)
        return { code: 'DUPLICATE', of: other.candidate, why: 'the same question' };
      const similarity = jaccard(own.words, other.words);
      if (similarity >= NEAR_DUPLICATE_JACCARD) return { code: 'NEAR_DUPLICATE', of: other.candidate, similarity };
    }
    return undefined;
  }
}

function indexed(candidate: MaterialCandidate): Indexed {
  const { question, answer } = questionAndAnswer(candidate);
  return {
    candidate,
    print: fingerprint(candidate),
    question: materialKind(candidate) === 'CLOZE' ? undefined : wordKey(question),
    words: new Set([...contentStems(question), ...contentStems(answer).map((s) => `=${s}`)]),
  };
}
