// Prompt and answer sizes measured from the ai context's real prompt builders over the demo lessons,
// in the unit budgets and the usage mix use (estimateTokens), to replace the usage mix's guesses
// (subgraphs/ai/src/domain/routing/usage-mix.ts, `promptTokens`).
import {
  definitionMeanings,
  extractFlashcards,
  writeQuizItems,
} from '../../../subgraphs/ai/dist/domain/material/deterministic.js';
import { MATERIAL_WANTED } from '../../../subgraphs/ai/dist/domain/generation.js';
import { materialPrompt } from '../../../subgraphs/ai/dist/domain/material/prompts.js';
import { socraticReply } from '../../../subgraphs/ai/dist/domain/tutor/deterministic.js';
import { buildTutorPrompt } from '../../../subgraphs/ai/dist/domain/tutor/prompts.js';
import { estimateTokens } from '../../../subgraphs/ai/dist/providers/provider.js';
import { learnerMessages } from './messages.mjs';

/** Cards and items asked for per lesson, as the generator asks. */
export const WANTED = MATERIAL_WANTED;
/** Passages the tutor's prompt carries, as tutoring.ts retrieves (CONTEXT_PASSAGES). */
const TUTOR_PASSAGES = 5;

const promptTokens = ({ system, messages }) => estimateTokens([system, ...messages.map((m) => m.content)].join('\n'));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/**
 * For every demo lesson: the flashcard and quiz prompts (the lesson's passages, the distractor pool of
 * its course's other lessons) and `tutorTurnsPerLesson` tutor prompts (a generated learner message,
 * the top passages of the course for it, hint levels 0-3). Fixed part = the prompt minus the sampled
 * text (the lesson, the learner's message); output = the deterministic provider's answer to the task,
 * in the format the prompt asks a model for; for material, its tokens per entry times the entries asked
 * for (a model writes what it is asked for; the deterministic provider writes only what it finds).
 * Returns the medians and every figure's spread.
 */
export async function measurePromptSizes({ lessons, retrievers, random, tutorTurnsPerLesson = 8 }) {
  const samples = {
    FLASHCARD_EXTRACTION: { fixed: [], output: [], perEntry: [], empty: 0 },
    QUIZ_GENERATION: { fixed: [], output: [], perEntry: [], empty: 0 },
    TUTOR: { fixed: [], output: [], historyTurn: [] },
  };
  const lessonTokens = [];
  /** A material answer's tokens per entry; answers with no entry (nothing worth it) are counted apart. */
  const addOutput = (sample, json, key) => {
    const entries = JSON.parse(json)[key].length;
    if (entries === 0) sample.empty++;
    else sample.perEntry.push(estimateTokens(json) / entries);
  };
  for (const lesson of lessons) {
    const others = lessons.filter((l) => l.courseId === lesson.courseId && l.lessonId !== lesson.lessonId);
    const base = { lessonTitle: lesson.title, passages: lesson.passages };
    const textTokens = estimateTokens(lesson.text);
    lessonTokens.push(textTokens);
    const flashcards = { kind: 'FLASHCARD_EXTRACTION', ...base, max: WANTED.FLASHCARD_EXTRACTION };
    samples.FLASHCARD_EXTRACTION.fixed.push(promptTokens(materialPrompt(flashcards)) - textTokens);
    addOutput(samples.FLASHCARD_EXTRACTION, extractFlashcards(flashcards), 'cards');
    const quiz = {
      kind: 'QUIZ_GENERATION',
      ...base,
      max: WANTED.QUIZ_GENERATION,
      distractorPool: definitionMeanings(others.flatMap((l) => l.passages)),
    };
    samples.QUIZ_GENERATION.fixed.push(promptTokens(materialPrompt(quiz)) - textTokens);
    addOutput(samples.QUIZ_GENERATION, writeQuizItems(quiz), 'items');

    const messages = learnerMessages(lesson.text, random);
    for (let i = 0; i < tutorTurnsPerLesson; i++) {
      const { message } = messages.next();
      const hits = await retrievers
        .get(lesson.courseId)
        .search(message, { courseId: lesson.courseId, lessonId: lesson.lessonId, k: TUTOR_PASSAGES });
      const task = {
        kind: 'TUTOR',
        lessonTitle: lesson.title,
        subject: lesson.subject,
        passages: hits.map((h) => h.passage),
        history: [],
        learnerMessage: message,
        hintsGiven: i % 4,
        protectedAnswers: [],
      };
      const messageTokens = estimateTokens(message);
      const replyTokens = estimateTokens(socraticReply(task));
      samples.TUTOR.fixed.push(promptTokens(buildTutorPrompt(task)) - messageTokens);
      samples.TUTOR.output.push(replyTokens);
      // An earlier turn in the thread: the learner's message and the tutor's reply, both in the prompt.
      samples.TUTOR.historyTurn.push(messageTokens + replyTokens);
    }
  }
  // A model writes the entries it is asked for: the output is tokens per entry × entries wanted.
  for (const task of ['FLASHCARD_EXTRACTION', 'QUIZ_GENERATION'])
    samples[task].output = samples[task].perEntry.map((t) => Math.round(t * WANTED[task]));
  const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
  return {
    lessons: lessons.length,
    lessonTokens: spread(lessonTokens),
    promptTokens: Object.fromEntries(
      Object.entries(samples).map(([task, s]) => [task, { fixedInput: median(s.fixed), output: median(s.output) }]),
    ),
    tutorHistoryTokensPerTurn: Math.round(
      samples.TUTOR.historyTurn.reduce((a, b) => a + b, 0) / samples.TUTOR.historyTurn.length,
    ),
    spread: Object.fromEntries(
      Object.entries(samples).map(([task, s]) => [task, { fixedInput: spread(s.fixed), output: spread(s.output) }]),
    ),
    tutorPrompts: samples.TUTOR.fixed.length,
    materialEntries: Object.fromEntries(
      ['FLASHCARD_EXTRACTION', 'QUIZ_GENERATION'].map((task) => [
        task,
        {
          wanted: WANTED[task],
          tokens_per_entry: Math.round(median(samples[task].perEntry)),
          lessons_with_none: samples[task].empty,
        },
      ]),
    ),
  };
}
