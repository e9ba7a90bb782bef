/**
 * The deterministic provider's study material: extractive cloze cards from a lesson's key sentences,
 * "What is X?" cards and single-choice questions from its definitions, with distractors drawn from other
 * definitions. It answers in the JSON an LLM is asked for (prompts.ts), so its output goes through the same
 * parsing and validation. Same task, same output: no clock, no Math.random.
 */
import { seededRandom } from '@coursegraph/service-kit';
import type { SourcePassage } from '../../providers/provider.js';
import {
  type BasicCard,
  type ClozeCard,
  entriesWanted,
  type Flashcard,
  type FlashcardTask,
  MATERIAL_LIMITS,
  type QuizTask,
  type SingleChoiceItem,
} from './candidate.js';
import { looksLikeInstruction } from './injection.js';
import {
  clozeTarget,
  type Definition,
  KEY_SENTENCE_SCORE,
  type Lesson,
  type LessonSentence,
  readLesson,
} from './lesson.js';
import { answerShownIn, isEnumeration, MaterialIndex, shareOf, SUPPORT_THRESHOLD } from './rules.js';
import { contentStems, wordCount, wordKey, words } from './text.js';

/** The flashcards of a FLASHCARD_EXTRACTION task, as the JSON text `{"cards":[…]}`. */
export function extractFlashcards(task: FlashcardTask): string {
  return JSON.stringify({ cards: flashcardCandidates(task) });
}

/** The quiz items of a QUIZ_GENERATION task, as the JSON text `{"items":[…]}`. */
export function writeQuizItems(task: QuizTask): string {
  return JSON.stringify({ items: quizItemCandidates(task) });
}

/** Key sentences, most useful first (document order among equals). */
function keySentences(lesson: Lesson): LessonSentence[] {
  return lesson.sentences
    .filter((s) => s.score >= KEY_SENTENCE_SCORE)
    .sort((a, b) => b.score - a.score || a.passageIndex - b.passageIndex || a.index - b.index);
}

const inDocumentOrder = <T>(picked: { at: LessonSentence; rank: number; value: T }[]): T[] =>
  picked
    .sort((a, b) => a.at.passageIndex - b.at.passageIndex || a.at.index - b.at.index || a.rank - b.rank)
    .map((p) => p.value);

/**
 * Flashcards from the key sentences, best first until `max`: per sentence a cloze card deleting its key
 * term (one deletion: one fact per card) and, when it defines a term, a "What is X?" card. Returned in
 * document order.
 */
export function flashcardCandidates(task: FlashcardTask): Flashcard[] {
  const max = entriesWanted(task);
  if (max === 0) return [];
  const lesson = readLesson(task.passages);
  const kept = new MaterialIndex();
  const picked: { at: LessonSentence; rank: number; value: Flashcard }[] = [];
  const keep = (at: LessonSentence, rank: number, card: Flashcard | undefined) => {
    if (!card || picked.length >= max || kept.findDuplicate(card)) return;
    kept.add(card);
    picked.push({ at, rank, value: card });
  };
  for (const sentence of keySentences(lesson)) {
    if (picked.length >= max) break;
    keep(sentence, 0, clozeCard(sentence, lesson));
    if (sentence.definition) keep(sentence, 1, basicCard(sentence, sentence.definition, lesson));
  }
  return inDocumentOrder(picked);
}

function clozeCard(sentence: LessonSentence, lesson: Lesson): ClozeCard | undefined {
  const target = clozeTarget(sentence, lesson);
  if (!target) return undefined;
  const [start, end] = target;
  const { text } = sentence;
  return {
    kind: 'CLOZE',
    text: `${text.slice(0, start)}{{c1::${text.slice(start, end)}}}${text.slice(end)}`,
    passageId: sentence.passage.id,
    quote: text,
  };
}

function basicCard(sentence: LessonSentence, definition: Definition, lesson: Lesson): BasicCard | undefined {
  const back = shortMeaning(definition.meaning);
  const front = askForMeaning(definition, lesson);
  if (!back || answerShownIn(back, front)) return undefined;
  return { kind: 'BASIC', front, back, passageId: sentence.passage.id, quote: sentence.text };
}

/**
 * The meaning as one short fact: whole when it fits MATERIAL_LIMITS.backWords, else its head up to the
 * first comma, semicolon, dash or bracket (the rest is usually an aside); undefined when neither fits.
 */
export function shortMeaning(meaning: string): string | undefined {
  const fits = (text: string) =>
    wordCount(text) >= 1 && wordCount(text) <= MATERIAL_LIMITS.backWords && !isEnumeration(text);
  if (fits(meaning)) return meaning;
  const head = meaning.split(/,\s|;\s|\s[—–-]\s|\s\(/)[0]?.trim();
  return head && wordCount(head) >= 3 && fits(head) ? head : undefined;
}

/**
 * The term as a question names it: its first letter lowered when only the sentence start capitalised it
 * ("Recursion" → "recursion"), kept for names the lesson capitalises anywhere ("Python") and acronyms.
 */
function termInQuestion(definition: Definition, lesson: Lesson): string {
  const { term } = definition;
  const first = words(term)[0] ?? term;
  const acronym = /\p{Lu}/u.test(first.slice(1));
  if (acronym || lesson.names.has(first) || !term.startsWith(first)) return term;
  return first.charAt(0).toLowerCase() + term.slice(1);
}

/** "What is a stack?", "What are hash tables?", "What does latency mean?", … */
function askForMeaning(definition: Definition, lesson: Lesson): string {
  const term = termInQuestion(definition, lesson);
  const named = definition.article ? `${definition.article} ${term}` : term;
  switch (definition.form) {
    case 'ARE':
      return `What are ${named}?`;
    case 'MEANS':
      return `What does ${named} mean?`;
    case 'MEAN':
      return `What do ${named} mean?`;
    case 'REFERS':
      return `What does ${named} refer to?`;
    case 'REFER':
      return `What do ${named} refer to?`;
    case 'DEFINED_AS':
      return `How is ${named} defined?`;
    case 'IS':
    case 'CALLED':
      return `What is ${named}?`;
  }
}

/** "Which term names a collection where …?", the reverse question. */
function askForTerm(definition: Definition, meaning: string): string {
  switch (definition.form) {
    case 'MEANS':
    case 'MEAN':
      return `Which term means ${meaning}?`;
    case 'REFERS':
    case 'REFER':
      return `Which term refers to ${meaning}?`;
    case 'DEFINED_AS':
      return `Which term is defined as ${meaning}?`;
    default:
      return `Which term names ${meaning}?`;
  }
}

interface DefinitionAt {
  sentence: LessonSentence;
  definition: Definition;
  meaning: string;
}

/**
 * Single-choice questions from the lesson's definitions, best first until `max`: first "What is X?" with
 * the meaning among other definitions (the lesson's and the task's distractorPool), then "Which term names
 * …?" with the term among other defined terms. A distractor is never one the quote supports (it would be
 * right too), and distractors closest in length to the answer are preferred, so length gives nothing away.
 * Choices are shuffled by a generator seeded from the question. Returned in document order.
 */
export function quizItemCandidates(task: QuizTask): SingleChoiceItem[] {
  const max = entriesWanted(task);
  if (max === 0) return [];
  const lesson = readLesson(task.passages);
  const seenTerms = new Set<string>();
  const definitions: DefinitionAt[] = [];
  for (const sentence of keySentences(lesson)) {
    const definition = sentence.definition;
    const meaning = definition && shortMeaning(definition.meaning);
    if (!definition || !meaning || seenTerms.has(wordKey(definition.term))) continue;
    seenTerms.add(wordKey(definition.term));
    definitions.push({ sentence, definition, meaning });
  }
  const meanings = choicePool([...definitions.map((d) => d.meaning), ...(task.distractorPool ?? [])]);
  const terms = definitions.map((d) => termInQuestion(d.definition, lesson));
  const termPool = choicePool(terms);

  const kept = new MaterialIndex();
  const picked: { at: LessonSentence; rank: number; value: SingleChoiceItem }[] = [];
  const keep = (at: DefinitionAt, rank: number, item: SingleChoiceItem | undefined) => {
    if (!item || kept.findDuplicate(item)) return;
    kept.add(item);
    picked.push({ at: at.sentence, rank, value: item });
  };
  for (const d of definitions) {
    if (picked.length >= max) break;
    keep(d, 0, choiceItem(askForMeaning(d.definition, lesson), d.meaning, meanings, d.sentence));
  }
  definitions.forEach((d, i) => {
    if (picked.length < max)
      keep(d, 1, choiceItem(askForTerm(d.definition, d.meaning), terms[i]!, termPool, d.sentence));
  });
  return inDocumentOrder(picked);
}

/** A possible choice, with what the checks need computed once. */
interface Choice {
  text: string;
  key: string;
  words: number;
  stems: Set<string>;
  order: number;
}

/** The usable entries of a list of possible choices (one per word key, none addressed to a model). */
function choicePool(texts: unknown[]): Choice[] {
  const seen = new Set<string>();
  const out: Choice[] = [];
  texts.forEach((raw, order) => {
    if (typeof raw !== 'string') return;
    const text = raw.trim();
    const key = wordKey(text);
    if (key === '' || seen.has(key) || text.length > MATERIAL_LIMITS.choiceChars) return;
    if (looksLikeInstruction(text) || isEnumeration(text)) return;
    seen.add(key);
    out.push({ text, key, words: wordCount(text), stems: new Set(contentStems(text)), order });
  });
  return out;
}

/** Wrong choices per question: four choices in all. */
const DISTRACTORS = 3;

function choiceItem(
  prompt: string,
  correct: string,
  pool: Choice[],
  sentence: LessonSentence,
): SingleChoiceItem | undefined {
  const quote = sentence.text;
  if (prompt.length > MATERIAL_LIMITS.questionChars || correct.length > MATERIAL_LIMITS.choiceChars) return undefined;
  const quoteStems = new Set(contentStems(quote));
  const promptKey = ` ${wordKey(prompt)} `;
  const correctKey = wordKey(correct);
  const correctWords = wordCount(correct);
  const distractors = pool
    .filter(
      (c) =>
        c.key !== correctKey && shareOf(c.stems, quoteStems) < SUPPORT_THRESHOLD && !promptKey.includes(` ${c.key} `),
    )
    .sort((a, b) => Math.abs(a.words - correctWords) - Math.abs(b.words - correctWords) || a.order - b.order)
    .slice(0, DISTRACTORS)
    .map((c) => c.text);
  // Fewer than two distractors would leave a guess between two choices; learning's items need three.
  if (distractors.length + 1 < MATERIAL_LIMITS.choices.min) return undefined;
  const choices = shuffle([correct, ...distractors], seedOf(prompt));
  return {
    type: 'SINGLE_CHOICE',
    prompt,
    choices,
    correctIndex: choices.indexOf(correct),
    passageId: sentence.passage.id,
    quote,
  };
}

/** FNV-1a of a text: a seed that is the same on every machine. */
function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function shuffle<T>(values: T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The short meanings the passages define ("a typed conduit through which goroutines send and
 * receive values"): other lessons' definitions make plausible wrong choices for a lesson's quiz
 * items (QuizTask.distractorPool), since they are of the same course and register.
 */
export function definitionMeanings(passages: readonly SourcePassage[], max = 40): string[] {
  const meanings: string[] = [];
  for (const sentence of keySentences(readLesson(passages))) {
    const meaning = sentence.definition && shortMeaning(sentence.definition.meaning);
    if (meaning && !meanings.includes(meaning)) meanings.push(meaning);
    if (meanings.length >= max) break;
  }
  return meanings;
}
