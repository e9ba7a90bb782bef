/**
 * The quality floor on the labelled set over the demo lessons (issue 16: recall@5 ≥ 0.85 with the
 * default embedding). Lesson texts: subgraphs/course/src/demo-lesson-texts.ts; questions:
 * test/bench/ai/retrieval-questions.json, each pointing at the paragraph that answers it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_LESSON_TEXTS } from '@coursegraph/course/src/demo-lesson-texts.js';
import { chunkLesson } from '../../src/domain/retrieval/chunk.js';
import { containsQuote, recallAtK, type LabelledQuestion } from '../../src/domain/retrieval/evaluate.js';
import { createHashedEmbedding } from '../../src/domain/retrieval/hashed-embedding.js';
import { createRetriever, type Retriever } from '../../src/domain/retrieval/hybrid.js';

interface DemoQuestion {
  id: string;
  subject: string;
  lessonIndex: number;
  paragraphIndex: number;
  question: string;
  answerQuote: string;
}

const demoQuestions: DemoQuestion[] = JSON.parse(
  readFileSync(new URL('../../../../test/bench/ai/retrieval-questions.json', import.meta.url), 'utf8'),
);

/** One course per subject, as the seed gives each subject's texts to one course. */
const lessonIdOf = (subject: string, lessonIndex: number) => `${subject}/lesson-${lessonIndex}`;

async function retrieverPerSubject(): Promise<Map<string, Retriever>> {
  const retrievers = new Map<string, Retriever>();
  for (const [subject, texts] of Object.entries(DEMO_LESSON_TEXTS)) {
    const retriever = createRetriever({ embedding: createHashedEmbedding() });
    await retriever.add(
      texts.flatMap((text, lessonIndex) =>
        chunkLesson({ courseId: subject, lessonId: lessonIdOf(subject, lessonIndex), text }),
      ),
    );
    retrievers.set(subject, retriever);
  }
  return retrievers;
}

async function recallPerSubject(retrievers: Map<string, Retriever>, options: Parameters<typeof recallAtK>[3]) {
  let hits = 0;
  for (const [subject, retriever] of retrievers) {
    const questions: LabelledQuestion[] = demoQuestions
      .filter((q) => q.subject === subject)
      .map((q) => ({ id: q.id, courseId: subject, question: q.question, answerQuote: q.answerQuote }));
    if (questions.length > 0) hits += (await recallAtK(retriever, questions, 5, options)).hits;
  }
  return hits / demoQuestions.length;
}

describe('retrieval over the demo lessons', () => {
  it('has a labelled set whose quotes are where its labels say', () => {
    expect(demoQuestions.length).toBeGreaterThanOrEqual(200);
    for (const q of demoQuestions) {
      const paragraph = DEMO_LESSON_TEXTS[q.subject]?.[q.lessonIndex]?.split(/\n[ \t]*\n/)[q.paragraphIndex];
      expect(paragraph, `question ${q.id}`).toBeDefined();
      expect(containsQuote(paragraph!, q.answerQuote), `question ${q.id}`).toBe(true);
    }
  });

  it('finds the answer in the top 5 for at least 85% of the questions with the default embedding', async () => {
    const retrievers = await retrieverPerSubject();
    expect(await recallPerSubject(retrievers, { mode: 'HYBRID' })).toBeGreaterThanOrEqual(0.85);
  });
});
