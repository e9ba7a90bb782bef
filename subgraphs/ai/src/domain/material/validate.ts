/**
 * The check every generated candidate passes before a person sees it, whichever provider wrote it:
 * its schema; its citation (a passage of the task, quoted verbatim); its answer supported by the quote
 * (and its distractors not); minimum information (one short fact, one question); and no duplicate of the
 * course's earlier material or of another candidate of the batch. A rejected candidate carries every
 * reason found, each `CODE: message`.
 */
import type { SourcePassage } from '../../providers/provider.js';
import { type MaterialCandidate, MATERIAL_LIMITS } from './candidate.js';
import { looksLikeInstruction } from './injection.js';
import {
  answerShownIn,
  clozeParts,
  isEnumeration,
  isSingleQuestion,
  isSupported,
  MaterialIndex,
  questionIsGrounded,
  supportRatio,
  SUPPORT_THRESHOLD,
} from './rules.js';
import { contentStems, normaliseText, splitSentences, wordCount, wordKey } from './text.js';

/** The fingerprint to store with each kept candidate (a unique index per course refuses exact repeats). */
export { fingerprint } from './rules.js';

export const REJECTION_CODES = [
  /** Not the output format: a missing, unknown or mistyped field, a length past its limit, bad choices. */
  'SCHEMA',
  /** A cloze text without exactly one well-formed {{c1::…}} deletion. */
  'CLOZE_SYNTAX',
  /** passageId is none of the task's passages. */
  'UNKNOWN_PASSAGE',
  /** The quote is not in the cited passage (compared case- and whitespace-insensitively). */
  'QUOTE_NOT_IN_PASSAGE',
  'QUOTE_TOO_LONG',
  'QUOTE_TOO_SHORT',
  /** The answer's content words are not in the quote (see SUPPORT_THRESHOLD). */
  'ANSWER_NOT_IN_QUOTE',
  /** A wrong choice the quote supports as well as the right one. */
  'DISTRACTOR_SUPPORTED',
  /** The question is not about what the quote says. */
  'QUESTION_NOT_GROUNDED',
  /** The question shows its own answer. */
  'ANSWER_IN_QUESTION',
  /** Minimum information: the answer is longer than one small fact. */
  'ANSWER_TOO_LONG',
  'ENUMERATION',
  'NOT_ONE_QUESTION',
  /** Text that reads as instructions to a model (src/domain/material/injection.ts). */
  'INSTRUCTION_TEXT',
  'DUPLICATE',
  'NEAR_DUPLICATE',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

export interface ValidationContext {
  /** The passages the task gave the model: the only ones a candidate may cite. */
  passages: readonly SourcePassage[];
  /** The course's earlier generated material (accepted before): a new candidate may not repeat it. */
  existing?: readonly MaterialCandidate[];
}

export interface RejectedCandidate {
  /** Position in the batch. */
  index: number;
  /** The candidate as given (it may not even be an object). */
  candidate: unknown;
  /** `CODE: message`, one per problem found. */
  reasons: string[];
  /** The codes of `reasons`, in the same order. */
  codes: RejectionCode[];
}

export interface ValidationResult {
  /** The candidates that passed, trimmed and without unused fields, in batch order. */
  accepted: MaterialCandidate[];
  rejected: RejectedCandidate[];
}

type Problem = { code: RejectionCode; message: string };

/** Checks a batch of candidates (as parsed from a model's answer) and splits it into accepted and rejected. */
export function validateMaterial(candidates: readonly unknown[], context: ValidationContext): ValidationResult {
  const passages = new PassageTexts(context.passages);
  const kept = new MaterialIndex(context.existing ?? []);
  const origin = new Map<MaterialCandidate, string>();
  for (const old of context.existing ?? []) origin.set(old, 'an earlier item of this course');

  const accepted: MaterialCandidate[] = [];
  const rejected: RejectedCandidate[] = [];
  candidates.forEach((raw, index) => {
    const read = readCandidate(raw);
    const problems: Problem[] = read.problems.map((message) => ({ code: 'SCHEMA', message }));
    if (read.candidate) {
      problems.push(...checkContent(read.candidate, passages));
      if (problems.length === 0) {
        const duplicate = kept.findDuplicate(read.candidate);
        if (duplicate) {
          const of = origin.get(duplicate.of) ?? 'another candidate';
          problems.push(
            duplicate.code === 'DUPLICATE'
              ? { code: 'DUPLICATE', message: `It asks ${duplicate.why} as ${of}.` }
              : {
                  code: 'NEAR_DUPLICATE',
                  message: `Its words are ${Math.round(duplicate.similarity * 100)}% those of ${of} (the limit is below 80%).`,
                },
          );
        }
      }
    }
    if (read.candidate && problems.length === 0) {
      accepted.push(read.candidate);
      kept.add(read.candidate);
      origin.set(read.candidate, `candidate ${index} of this batch`);
    } else {
      rejected.push({
        index,
        candidate: raw,
        reasons: problems.map((p) => `${p.code}: ${p.message}`),
        codes: problems.map((p) => p.code),
      });
    }
  });
  return { accepted, rejected };
}

// ---------------------------------------------------------------------------------------------------
// Schema

// NUL cannot be stored in PostgreSQL text and other control characters have no place in a card.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const CARD_FIELDS = ['kind', 'front', 'back', 'text', 'passageId', 'quote'];
const ITEM_FIELDS = ['type', 'prompt', 'choices', 'correctIndex', 'passageId', 'quote'];
const NON_ANSWERS = /^(?:all|none|both|neither) of (?:the )?(?:above|these|them)$/;

const absent = (value: unknown) => value === undefined || value === null || value === '';

/** Reads a raw candidate into a typed one, or lists what is wrong with its shape. */
function readCandidate(raw: unknown): { candidate?: MaterialCandidate; problems: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { problems: ['A candidate must be a JSON object.'] };
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  const str = (field: string, max: number): string => {
    const value = obj[field];
    if (typeof value !== 'string') {
      problems.push(`${field} must be a string (got ${value === undefined ? 'nothing' : typeof value}).`);
      return '';
    }
    const trimmed = value.trim();
    if (trimmed === '') problems.push(`${field} must not be empty.`);
    else if (CONTROL.test(trimmed)) problems.push(`${field} contains control characters.`);
    else if (trimmed.length > max) problems.push(`${field} has ${trimmed.length} characters; the limit is ${max}.`);
    return trimmed;
  };
  const onlyFields = (known: string[], unused: string[] = []) => {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) problems.push(`There is no field "${key}".`);
      else if (unused.includes(key) && !absent(obj[key]))
        problems.push(`${key} is not used by this kind of candidate.`);
    }
  };
  const passageId = () => str('passageId', MATERIAL_LIMITS.passageIdChars);
  // The lengths of a quote and a back are judged by their own checks (QUOTE_TOO_LONG, ANSWER_TOO_LONG);
  // these looser bounds only keep absurd input from being compared at all.
  const quote = () => str('quote', MATERIAL_LIMITS.quoteChars * 10);
  const back = () => str('back', MATERIAL_LIMITS.backChars * 10);

  if (obj.type !== undefined) {
    if (obj.type !== 'SINGLE_CHOICE')
      return { problems: [`type must be SINGLE_CHOICE (got ${JSON.stringify(obj.type)}).`] };
    onlyFields(ITEM_FIELDS);
    const prompt = str('prompt', MATERIAL_LIMITS.questionChars);
    const choices = readChoices(obj.choices, problems);
    const correctIndex = obj.correctIndex;
    if (typeof correctIndex !== 'number' || !Number.isInteger(correctIndex))
      problems.push(`correctIndex must be a whole number (got ${JSON.stringify(correctIndex)}).`);
    else if (choices && (correctIndex < 0 || correctIndex >= choices.length))
      problems.push(`correctIndex ${correctIndex} is outside the choices (0 to ${choices.length - 1}).`);
    const candidate = {
      type: 'SINGLE_CHOICE' as const,
      prompt,
      choices: choices ?? [],
      correctIndex: Number(correctIndex),
      passageId: passageId(),
      quote: quote(),
    };
    return problems.length ? { problems } : { candidate, problems };
  }
  if (obj.kind === 'BASIC') {
    onlyFields(CARD_FIELDS, ['text']);
    const candidate = {
      kind: 'BASIC' as const,
      front: str('front', MATERIAL_LIMITS.questionChars),
      back: back(),
      passageId: passageId(),
      quote: quote(),
    };
    return problems.length ? { problems } : { candidate, problems };
  }
  if (obj.kind === 'CLOZE') {
    onlyFields(CARD_FIELDS, ['front', 'back']);
    const candidate = {
      kind: 'CLOZE' as const,
      text: str('text', MATERIAL_LIMITS.clozeChars),
      passageId: passageId(),
      quote: quote(),
    };
    return problems.length ? { problems } : { candidate, problems };
  }
  return {
    problems: [
      obj.kind === undefined
        ? 'A candidate needs kind (BASIC or CLOZE) or type (SINGLE_CHOICE).'
        : `kind must be BASIC or CLOZE (got ${JSON.stringify(obj.kind)}).`,
    ],
  };
}

function readChoices(value: unknown, problems: string[]): string[] | undefined {
  const { min, max } = MATERIAL_LIMITS.choices;
  if (!Array.isArray(value)) {
    problems.push('choices must be a list of strings.');
    return undefined;
  }
  if (value.length < min || value.length > max) {
    problems.push(`choices must have ${min} to ${max} entries (it has ${value.length}).`);
    return undefined;
  }
  const seen = new Map<string, number>();
  return value.map((choice, i) => {
    if (typeof choice !== 'string' || choice.trim() === '') {
      problems.push(`choices[${i}] must be a non-empty string.`);
      return '';
    }
    const text = choice.trim();
    const key = wordKey(text);
    if (CONTROL.test(text)) problems.push(`choices[${i}] contains control characters.`);
    if (text.length > MATERIAL_LIMITS.choiceChars)
      problems.push(`choices[${i}] has ${text.length} characters; the limit is ${MATERIAL_LIMITS.choiceChars}.`);
    if (key === '') problems.push(`choices[${i}] has no words.`);
    else if (NON_ANSWERS.test(key)) problems.push(`choices[${i}] ("${text}") is not an answer on its own.`);
    else if (seen.has(key)) problems.push(`choices[${i}] repeats choices[${seen.get(key)}].`);
    seen.set(key, i);
    return text;
  });
}

// ---------------------------------------------------------------------------------------------------
// Content

/** The task's passages by id, each normalised once (on first use) for the quote check. */
class PassageTexts {
  private readonly byId: Map<string, SourcePassage>;
  private readonly normalised = new Map<string, string>();

  constructor(passages: readonly SourcePassage[]) {
    this.byId = new Map(passages.map((p) => [p.id, p]));
  }

  /** The passage's text in normal form (text.ts `normaliseText`), undefined for an unknown id. */
  normalisedText(id: string): string | undefined {
    const passage = this.byId.get(id);
    if (!passage) return undefined;
    let text = this.normalised.get(id);
    if (text === undefined) {
      text = normaliseText(passage.text);
      this.normalised.set(id, text);
    }
    return text;
  }
}

function checkContent(candidate: MaterialCandidate, passages: PassageTexts): Problem[] {
  const problems: Problem[] = [];
  const add = (code: RejectionCode, message: string) => problems.push({ code, message });

  const texts =
    'type' in candidate
      ? [candidate.prompt, ...candidate.choices, candidate.quote]
      : candidate.kind === 'BASIC'
        ? [candidate.front, candidate.back, candidate.quote]
        : [candidate.text, candidate.quote];
  if (texts.some(looksLikeInstruction))
    add('INSTRUCTION_TEXT', 'It contains text that reads as an instruction to a model, not lesson content.');

  // Citation.
  const passageText = passages.normalisedText(candidate.passageId);
  if (passageText === undefined)
    add('UNKNOWN_PASSAGE', `passageId ${JSON.stringify(candidate.passageId)} is none of the given passages.`);
  else if (!passageText.includes(normaliseText(candidate.quote)))
    add(
      'QUOTE_NOT_IN_PASSAGE',
      `The quote is not in passage ${candidate.passageId} (compared ignoring case and spacing).`,
    );
  const quoteSentences = splitSentences(candidate.quote).length;
  if (candidate.quote.length > MATERIAL_LIMITS.quoteChars || quoteSentences > MATERIAL_LIMITS.quoteSentences)
    add(
      'QUOTE_TOO_LONG',
      `The quote has ${candidate.quote.length} characters in ${quoteSentences} sentences; the limits are ` +
        `${MATERIAL_LIMITS.quoteChars} and ${MATERIAL_LIMITS.quoteSentences}: quote what supports the answer, not the passage.`,
    );
  if (wordCount(candidate.quote) < MATERIAL_LIMITS.quoteMinWords)
    add('QUOTE_TOO_SHORT', `The quote has fewer than ${MATERIAL_LIMITS.quoteMinWords} words.`);

  if ('type' in candidate) checkQuizItem(candidate, add);
  else if (candidate.kind === 'BASIC') {
    checkAnswer(candidate.back, 'The back', candidate.quote, add);
    if (!questionIsGrounded(candidate.front, candidate.quote))
      add('QUESTION_NOT_GROUNDED', 'The front asks about nothing the quote mentions.');
    if (answerShownIn(candidate.back, candidate.front)) add('ANSWER_IN_QUESTION', 'The front contains the back.');
    if (!isSingleQuestion(candidate.front))
      add('NOT_ONE_QUESTION', 'The front must be one question (one question mark, at its end).');
    checkOneFact(candidate.back, 'The back', MATERIAL_LIMITS.backWords, add);
    if (candidate.back.length > MATERIAL_LIMITS.backChars)
      add(
        'ANSWER_TOO_LONG',
        `The back has ${candidate.back.length} characters; the limit is ${MATERIAL_LIMITS.backChars}.`,
      );
  } else checkCloze(candidate.text, candidate.quote, add);
  return problems;
}

type Add = (code: RejectionCode, message: string) => void;

function checkAnswer(answer: string, what: string, quote: string, add: Add): void {
  if (contentStems(answer).length === 0) {
    add('ANSWER_NOT_IN_QUOTE', `${what} has no content words, so the quote cannot be shown to support it.`);
    return;
  }
  const ratio = supportRatio(answer, quote);
  if (ratio < SUPPORT_THRESHOLD)
    add(
      'ANSWER_NOT_IN_QUOTE',
      `${Math.round(ratio * 100)}% of the content words of ${what.toLowerCase()} ("${answer}") are in the quote; ` +
        `at least ${SUPPORT_THRESHOLD * 100}% must be.`,
    );
}

function checkOneFact(answer: string, what: string, maxWords: number, add: Add): void {
  const n = wordCount(answer);
  if (n > maxWords) add('ANSWER_TOO_LONG', `${what} has ${n} words; one fact fits in ${maxWords}.`);
  if (isEnumeration(answer)) add('ENUMERATION', `${what} lists several things; ask for one at a time.`);
}

function checkCloze(text: string, quote: string, add: Add): void {
  const parts = clozeParts(text);
  if (parts.deletions !== 1) {
    add(
      'CLOZE_SYNTAX',
      `The text has ${parts.deletions} deletions; a card tests one fact, so it needs exactly one {{c1::answer}}.`,
    );
    return;
  }
  if (parts.ordinals[0] !== 1) add('CLOZE_SYNTAX', `The deletion is c${parts.ordinals[0]}; it must be c1.`);
  if (parts.strayBraces) add('CLOZE_SYNTAX', 'The text has braces outside a well-formed {{c1::answer}} deletion.');
  if (parts.answer.trim() === '') {
    add('CLOZE_SYNTAX', 'The deletion is empty.');
    return;
  }
  if (parts.hint !== undefined && parts.hint.length > MATERIAL_LIMITS.hintChars)
    add('CLOZE_SYNTAX', `The hint has ${parts.hint.length} characters; the limit is ${MATERIAL_LIMITS.hintChars}.`);
  checkAnswer(parts.answer, 'The deletion', quote, add);
  if (supportRatio(parts.context, quote) < SUPPORT_THRESHOLD)
    add('QUESTION_NOT_GROUNDED', 'The sentence around the deletion is not taken from the quote.');
  if (answerShownIn(parts.answer, parts.context))
    add('ANSWER_IN_QUESTION', 'The deleted text appears again in the rest of the sentence.');
  checkOneFact(parts.answer, 'The deletion', MATERIAL_LIMITS.deletionWords, add);
}

function checkQuizItem(item: Extract<MaterialCandidate, { type: 'SINGLE_CHOICE' }>, add: Add): void {
  const correct = item.choices[item.correctIndex] ?? '';
  checkAnswer(correct, 'The correct choice', item.quote, add);
  item.choices.forEach((choice, i) => {
    if (i !== item.correctIndex && isSupported(choice, item.quote))
      add(
        'DISTRACTOR_SUPPORTED',
        `choices[${i}] ("${choice}") is supported by the quote as well: it would be right too.`,
      );
  });
  if (!questionIsGrounded(item.prompt, item.quote))
    add('QUESTION_NOT_GROUNDED', 'The prompt asks about nothing the quote mentions.');
  if (answerShownIn(correct, item.prompt)) add('ANSWER_IN_QUESTION', 'The prompt contains the correct choice.');
  if ((item.prompt.match(/[?？]/g)?.length ?? 0) > 1)
    add('NOT_ONE_QUESTION', 'The prompt asks more than one question.');
  if (isEnumeration(correct)) add('ENUMERATION', 'The correct choice lists several things; ask for one at a time.');
}
