/**
 * Retrieval quality on a labelled set. A question counts as answered when one of the top k passages
 * contains its answer quote (compared with case and whitespace normalised), which measures retrieval
 * whatever the chunking: no passage ids are labelled, so re-chunking cannot make the labels stale.
 */
import type { RetrievalMode, Retriever } from './hybrid.js';

export interface LabelledQuestion {
  id: string;
  courseId: string;
  question: string;
  /** Words copied from the source passage that answer the question. */
  answerQuote: string;
  /** The lesson the learner asks from, when the set says (it gets the same-lesson boost). */
  lessonId?: string;
}

export interface RetrievalQuality {
  k: number;
  questions: number;
  /** Questions with the answer in the top k. */
  hits: number;
  /** hits / questions. */
  recallAtK: number;
  /** Mean of 1/rank of the first passage holding the answer (0 when none of the top k does): MRR@k. */
  meanReciprocalRank: number;
  /** Ids of the questions whose answer was not in the top k, to look at. */
  missed: string[];
}

/** Lower-cased, NFKC, curly quotes made straight and every run of whitespace one space. */
export function normaliseForMatch(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[‘’]/g, "'").replace(/[“”]/g, '"').replace(/\s+/g, ' ').trim();
}

export function containsQuote(passageText: string, answerQuote: string): boolean {
  return normaliseForMatch(passageText).includes(normaliseForMatch(answerQuote));
}

export async function recallAtK(
  retriever: Retriever,
  questions: LabelledQuestion[],
  k: number,
  { mode = 'HYBRID' }: { mode?: RetrievalMode } = {},
): Promise<RetrievalQuality> {
  if (questions.length === 0) throw new RangeError('Recall over no questions is undefined: the labelled set is empty.');
  for (const question of questions) {
    if (normaliseForMatch(question.answerQuote) === '') {
      throw new RangeError(`Question ${question.id} has an empty answer quote: every passage would "contain" it.`);
    }
  }
  let hits = 0;
  let reciprocalRanks = 0;
  const missed: string[] = [];
  for (const question of questions) {
    const { courseId, lessonId } = question;
    const results = await retriever.search(question.question, { courseId, lessonId, k, mode });
    const rank = results.findIndex((result) => containsQuote(result.passage.text, question.answerQuote)) + 1;
    if (rank > 0) {
      hits++;
      reciprocalRanks += 1 / rank;
    } else {
      missed.push(question.id);
    }
  }
  return {
    k,
    questions: questions.length,
    hits,
    recallAtK: hits / questions.length,
    meanReciprocalRank: reciprocalRanks / questions.length,
    missed,
  };
}
