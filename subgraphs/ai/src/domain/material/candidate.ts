/**
 * Generated study material as a model writes it and the validator checks it: flashcards (BASIC front and
 * back, or one CLOZE deletion) and SINGLE_CHOICE quiz items, each citing the passage it comes from and
 * quoting the sentence(s) that support its answer. Plain JSON, so a candidate is stored as is.
 */
import type { TaskInput } from '../../providers/provider.js';

/** The two tasks that produce material. */
export type FlashcardTask = Extract<TaskInput, { kind: 'FLASHCARD_EXTRACTION' }>;
export type QuizTask = Extract<TaskInput, { kind: 'QUIZ_GENERATION' }>;

/** Where a candidate's answer comes from: a passage id of the task and its verbatim supporting sentence(s). */
export interface Citation {
  passageId: string;
  quote: string;
}

/** A question on the front, one short fact on the back. */
export interface BasicCard extends Citation {
  kind: 'BASIC';
  front: string;
  back: string;
}

/** A sentence with exactly one deletion in learning's cloze syntax, `{{c1::answer}}`. */
export interface ClozeCard extends Citation {
  kind: 'CLOZE';
  text: string;
}

export type Flashcard = BasicCard | ClozeCard;

/** One question, 3 to 6 distinct choices, `correctIndex` the right one (0-based). */
export interface SingleChoiceItem extends Citation {
  type: 'SINGLE_CHOICE';
  prompt: string;
  choices: string[];
  correctIndex: number;
}

export type MaterialCandidate = Flashcard | SingleChoiceItem;

/** BASIC, CLOZE or SINGLE_CHOICE: what a candidate is, for messages, fingerprints and duplicate checks. */
export type MaterialKind = 'BASIC' | 'CLOZE' | 'SINGLE_CHOICE';

export const materialKind = (candidate: MaterialCandidate): MaterialKind =>
  'type' in candidate ? candidate.type : candidate.kind;

/** The JSON a model (and the deterministic provider) answers with, per task. */
export interface FlashcardOutput {
  cards: Flashcard[];
}
export interface QuizItemOutput {
  items: SingleChoiceItem[];
}

/**
 * Limits of generated material. Lengths are in characters unless named words. They are tighter than
 * learning's authoring limits (4,000 characters) on purpose: generated material must be one small fact.
 */
export const MATERIAL_LIMITS = {
  /** Candidates one task may ask for, and one model answer may hold. */
  maxPerTask: 50,
  /** Lesson text one task reads; the rest is ignored so a huge lesson costs bounded time. */
  sourceChars: 200_000,
  /** A model answer longer than this is refused unread. */
  outputChars: 200_000,
  passageIdChars: 200,
  questionChars: 300,
  /** A BASIC back: one fact, so a short phrase. */
  backWords: 15,
  backChars: 200,
  clozeChars: 400,
  /** A cloze deletion is a term, not a clause. */
  deletionWords: 5,
  hintChars: 60,
  choices: { min: 3, max: 6 },
  choiceChars: 200,
  quoteMinWords: 3,
  quoteChars: 600,
  quoteSentences: 3,
  /** This many list parts (split at commas, semicolons, "and", "or", line breaks) make an enumeration. */
  enumerationParts: 4,
} as const;

/** How many entries a task may produce: its `max`, as a whole number within 0..MATERIAL_LIMITS.maxPerTask. */
export const entriesWanted = (task: FlashcardTask | QuizTask): number =>
  Number.isFinite(task.max) ? Math.max(0, Math.min(MATERIAL_LIMITS.maxPerTask, Math.floor(task.max))) : 0;
