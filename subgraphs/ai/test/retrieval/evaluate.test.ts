import { describe, expect, it } from 'vitest';
import { containsQuote, normaliseForMatch, recallAtK } from '../../src/domain/retrieval/evaluate.js';
import { createHashedEmbedding } from '../../src/domain/retrieval/hashed-embedding.js';
import { createRetriever, type Retriever } from '../../src/domain/retrieval/hybrid.js';
import type { CoursePassage } from '../../src/domain/retrieval/passage.js';
import { corpus, QUESTIONS } from './fixture.js';

const passage = (id: string, text: string): CoursePassage => ({
  id,
  courseId: 'c1',
  lessonId: 'l1',
  source: 'LESSON',
  text,
});

describe('answer quotes', () => {
  it('match whatever the case, the whitespace and the quote marks', () => {
    expect(normaliseForMatch('  A  “Quoted”\n\tline’s END ')).toBe('a "quoted" line\'s end');
    expect(
      containsQuote('The rule of thirds places the subject\nnear one of the four intersections.', 'SUBJECT near one'),
    ).toBe(true);
    expect(containsQuote('The rule of thirds', 'rule of fifths')).toBe(false);
  });
});

describe('recallAtK', () => {
  it('counts a question as found when a top-k passage holds its quote, with the rank for MRR', async () => {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    await retriever.add([
      passage('a', 'Zebras have black and white stripes.'),
      passage('b', 'Zebras live in herds on the savanna.'),
      passage('c', 'Giraffes are the tallest land animals.'),
    ]);
    const questions = [
      { id: 'stripes', courseId: 'c1', question: 'what stripes do zebras have', answerQuote: 'black and white' },
      { id: 'giraffe', courseId: 'c1', question: 'tallest land animal giraffe', answerQuote: 'tallest land animals' },
      { id: 'never', courseId: 'c1', question: 'zebras', answerQuote: 'not in any passage' },
    ];
    const quality = await recallAtK(retriever, questions, 2);
    expect(quality).toMatchObject({ k: 2, questions: 3, hits: 2, missed: ['never'] });
    expect(quality.recallAtK).toBeCloseTo(2 / 3, 10);
    const ranks = await Promise.all(
      questions.slice(0, 2).map(async (q) => {
        const results = await retriever.search(q.question, { courseId: 'c1', k: 2 });
        return results.findIndex((r) => containsQuote(r.passage.text, q.answerQuote)) + 1;
      }),
    );
    expect(quality.meanReciprocalRank).toBeCloseTo((1 / ranks[0]! + 1 / ranks[1]!) / 3, 10);
  });

  it('refuses an empty labelled set or an empty quote', async () => {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    await expect(recallAtK(retriever, [], 5)).rejects.toThrow(/labelled set is empty/);
    await expect(
      recallAtK(retriever, [{ id: 'q', courseId: 'c1', question: 'x', answerQuote: ' ' }], 5),
    ).rejects.toThrow(/Question q has an empty answer quote/);
  });

  it('finds every answer of the fixture course set in the top 3, with each ranker alone too', async () => {
    const retriever: Retriever = createRetriever({ embedding: createHashedEmbedding() });
    await retriever.add(corpus());
    const hybrid = await recallAtK(retriever, QUESTIONS, 3);
    expect(hybrid.missed).toEqual([]);
    expect(hybrid.meanReciprocalRank).toBeGreaterThan(0.8);
    for (const mode of ['LEXICAL', 'VECTOR'] as const) {
      expect((await recallAtK(retriever, QUESTIONS, 3, { mode })).recallAtK).toBeGreaterThanOrEqual(0.75);
    }
  });
});
