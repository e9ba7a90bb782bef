import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_LESSON_TEXTS } from '../src/demo-lesson-texts.js';
import { demoCourses } from '../src/seed-data.js';

interface RetrievalQuestion {
  id: string;
  subject: string;
  lessonIndex: number;
  paragraphIndex: number;
  question: string;
  answerQuote: string;
}

const SUBJECTS = [
  'Go',
  'Color Theory',
  'UX Research',
  'Portrait Photography',
  'Critical Thinking',
  'Deep Learning',
  'TypeScript',
  'GraphQL',
];
const questions = JSON.parse(
  readFileSync(new URL('../../../test/bench/ai/retrieval-questions.json', import.meta.url), 'utf8'),
) as RetrievalQuestion[];

const paragraphsOf = (text: string) => text.split('\n\n');
const normalised = (text: string) => text.replace(/\s+/g, ' ').trim();
const wordsOf = (text: string) =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
// A demo course's first tag is its subject, lower-cased.
const subjectOf = (course: ReturnType<typeof demoCourses>[number]) =>
  SUBJECTS.find((s) => s.toLowerCase() === course.tags[0]);
const nonQuizLessons = (course: ReturnType<typeof demoCourses>[number]) =>
  course.modules.flatMap((m) => m.lessons).filter((l) => l.kind !== 'QUIZ');

describe('demo lesson texts', () => {
  it('has at least 12 lessons of 3-5 paragraphs for each of the eight subjects', () => {
    expect(Object.keys(DEMO_LESSON_TEXTS).sort()).toEqual([...SUBJECTS].sort());
    for (const subject of SUBJECTS) {
      const texts = DEMO_LESSON_TEXTS[subject]!;
      expect(texts.length, subject).toBeGreaterThanOrEqual(12);
      for (const [i, text] of texts.entries()) {
        const paragraphs = paragraphsOf(text);
        expect(paragraphs.length, `${subject} lesson ${i}`).toBeGreaterThanOrEqual(3);
        expect(paragraphs.length, `${subject} lesson ${i}`).toBeLessThanOrEqual(5);
        // A paragraph is prose of a few sentences, not a blank line or a heading.
        for (const p of paragraphs) expect(wordsOf(p).length, `${subject} lesson ${i}`).toBeGreaterThan(20);
      }
    }
  });

  it('never repeats a paragraph', () => {
    const all = Object.values(DEMO_LESSON_TEXTS).flat().flatMap(paragraphsOf);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('retrieval questions', () => {
  it('has at least 220 questions with unique ids, over every subject and most lessons', () => {
    expect(questions.length).toBeGreaterThanOrEqual(220);
    expect(new Set(questions.map((q) => q.id)).size).toBe(questions.length);
    for (const subject of SUBJECTS) {
      const lessons = new Set(questions.filter((q) => q.subject === subject).map((q) => q.lessonIndex));
      expect(lessons.size, subject).toBeGreaterThanOrEqual(Math.ceil(DEMO_LESSON_TEXTS[subject]!.length * 0.75));
    }
  });

  it('quotes each answer verbatim from the paragraph it points at', () => {
    for (const q of questions) {
      const text = DEMO_LESSON_TEXTS[q.subject]?.[q.lessonIndex];
      expect(text, q.id).toBeDefined();
      const paragraph = paragraphsOf(text!)[q.paragraphIndex];
      expect(paragraph, q.id).toBeDefined();
      expect(q.question.trim().length, q.id).toBeGreaterThan(10);
      expect(q.answerQuote.trim().length, q.id).toBeGreaterThan(10);
      expect(normalised(paragraph!), q.id).toContain(normalised(q.answerQuote));
    }
  });

  it("asks in the learner's own words: no question repeats five words in a row of its paragraph", () => {
    for (const q of questions) {
      const paragraph = ` ${wordsOf(paragraphsOf(DEMO_LESSON_TEXTS[q.subject]![q.lessonIndex]!)[q.paragraphIndex]!).join(' ')} `;
      const words = wordsOf(q.question);
      for (let i = 0; i + 5 <= words.length; i++) {
        expect(paragraph, q.id).not.toContain(` ${words.slice(i, i + 5).join(' ')} `);
      }
    }
  });
});

describe('demo catalog with lesson texts', () => {
  const plan = demoCourses(200);
  const allTexts = new Set(Object.values(DEMO_LESSON_TEXTS).flat());

  it('gives an English course of a subject with texts those texts, in order, in its non-quiz lessons', () => {
    const go = plan[1]!;
    expect([go.title, go.language]).toEqual(['Advanced Go', 'en']);
    const lessons = nonQuizLessons(go);
    expect(lessons.length).toBeGreaterThan(DEMO_LESSON_TEXTS.Go!.length); // so the texts cycle
    expect(lessons.map((l) => l.body)).toEqual(
      lessons.map((_, i) => DEMO_LESSON_TEXTS.Go![i % DEMO_LESSON_TEXTS.Go!.length]),
    );
    for (const subject of SUBJECTS) {
      const english = plan.filter((c) => c.language === 'en' && subjectOf(c) === subject);
      expect(english.length, subject).toBeGreaterThan(0);
      for (const c of english) expect(nonQuizLessons(c)[0]!.body, c.title).toBe(DEMO_LESSON_TEXTS[subject]![0]);
    }
  });

  it('keeps the generic bodies for quiz lessons, other subjects and other languages', () => {
    const quiz = plan[1]!.modules[0]!.lessons[0]!;
    expect(quiz.kind).toBe('QUIZ');
    expect(quiz.body).toBe(
      'Most beginners stumble here, so we go through the reasoning one piece at a time. In this lesson we build on what you already know and take one careful step further. In this lesson we build on what you already know and take one careful step further. Keep notes as you go: you will need them in the project at the end of the module.',
    );
    const russianTypeScript = plan[13]!;
    expect(russianTypeScript.title).toBe('TypeScript: продвинутый уровень');
    expect(russianTypeScript.modules[0]!.lessons[0]!.body).toBe(
      'The exercise at the end checks that the idea has really landed. The exercise at the end checks that the idea has really landed. The exercise at the end checks that the idea has really landed. Read the example slowly, then try to reproduce it on your own without looking.',
    );
    const hasTexts = (c: (typeof plan)[number]) => c.language === 'en' && subjectOf(c) !== undefined;
    for (const c of plan.filter((c) => !hasTexts(c))) {
      for (const l of c.modules.flatMap((m) => m.lessons)) expect(allTexts.has(l.body), c.title).toBe(false);
    }
  });

  // Taken from the generator before the lesson texts existed: the texts must not change how many
  // random numbers a course draws, so every other field, and every later course, stays the same.
  it('leaves every other demo field as it was before the texts', () => {
    const shape = (i: number) => {
      const c = plan[i]!;
      return {
        title: c.title,
        slug: c.slug,
        level: c.level,
        priceMinor: c.priceMinor,
        tags: c.tags,
        prerequisites: c.prerequisites,
        kinds: c.modules.map((m) => m.lessons.map((l) => l.kind[0]).join('')).join(' '),
        descriptionEnd: c.description.split('. ').at(-1),
      };
    };
    expect(shape(1)).toEqual({
      title: 'Advanced Go',
      slug: 'advanced-go-002',
      level: 'BEGINNER',
      priceMinor: 4900,
      tags: ['go', 'coding', 'frontend'],
      prerequisites: [],
      kinds: 'QAVV VQV VQ AAQVAV AVAQ',
      descriptionEnd: 'Read the example slowly, then try to reproduce it on your own without looking.',
    });
    expect(plan[1]!.modules.map((m) => m.lessons.map((l) => l.durationSeconds))).toEqual([
      [300, 540, 960, 720],
      [1020, 300, 720],
      [660, 300],
      [660, 300, 300, 720, 360, 1020],
      [300, 660, 600, 300],
    ]);
    expect(shape(12)).toEqual({
      title: 'The Complete Deep Learning Course',
      slug: 'the-complete-deep-learning-course-013',
      level: 'ADVANCED',
      priceMinor: 6900,
      tags: ['deep learning', 'analytics'],
      prerequisites: [],
      kinds: 'VQQ VVA QVAA VVVQ AAQAV AVV',
      descriptionEnd: 'Most beginners stumble here, so we go through the reasoning one piece at a time.',
    });
    expect(shape(20)).toMatchObject({ title: 'GraphQL for Beginners', priceMinor: 4900, kinds: 'QA VAQ VAQAAQ' });
    expect(shape(22)).toMatchObject({ title: 'Lightroom: продвинутый уровень', priceMinor: 5900, prerequisites: [7] });
    expect(shape(199)).toEqual({
      title: 'Pandas para principiantes (200)',
      slug: 'pandas-para-principiantes-200-200',
      level: 'INTERMEDIATE',
      priceMinor: 3900,
      tags: ['pandas', 'python', 'analytics'],
      prerequisites: [],
      kinds: 'VVQVQV VVV VAAVV',
      descriptionEnd: 'Read the example slowly, then try to reproduce it on your own without looking.',
    });
  });
});
