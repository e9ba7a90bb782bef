/**
 * Learning's demo seed on a fresh database: every course handed to it gets a concept chain, tagged
 * lessons, an item bank whose stored content is exactly what authoring's parser returns, a quiz per
 * QUIZ lesson and notes; a second run adds nothing; a course with its instructor's own material is
 * left alone; bad input is refused before anything is written. Then the course's publication event,
 * through learning's own handlers, freezes the drafts and an enrolment fills the learner's deck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { CourseEvents, EnrollmentEvents, course as coursePb, enrollment as enrollmentPb } from '@coursegraph/contracts';
import { newId, newTraceparent, seededRandom, type EventType, type ReceivedEvent } from '@coursegraph/service-kit';
import { contextDatabaseUrl, freshMigratedDatabase } from '@coursegraph/test-support';
import { createDb, type PrismaClient } from '../src/data/db.js';
import { parseItemInput } from '../src/domain/assessment/item-content.js';
import { drawItems, type QuizDraw } from '../src/domain/assessment/quiz-draw.js';
import { topologicalOrder } from '../src/domain/mastery/concept-graph.js';
import { clozeOrdinals } from '../src/domain/cloze.js';
import { courseHandlers } from '../src/events/course-projection.js';
import { enrolmentHandlers } from '../src/events/enrolments.js';
import {
  parseSeedCourses,
  planCourse,
  seedLearning,
  SEED_POOL_TAG,
  type SeedCourse,
  type SeedLesson,
} from '../src/seed.js';

const DATABASE = 'coursegraph_learning_seed';
let url: string;
let db: PrismaClient;

beforeAll(async () => {
  await freshMigratedDatabase(DATABASE);
  url = contextDatabaseUrl('learning', DATABASE);
  db = createDb(url, 4);
});
afterAll(async () => {
  await db.$disconnect();
});

const MODULES = ['Getting Started', 'Core Concepts', 'Going Deeper', 'Best Practices', 'Project', 'Next Steps'];

/** A course shaped like the demo catalog's: modules (titles may repeat), lessons of every kind. */
function demoLikeCourse(random: () => number, title: string): SeedCourse {
  const lessons: SeedLesson[] = [];
  const modules = 1 + Math.floor(random() * 6);
  for (let m = 0; m < modules; m++) {
    const moduleTitle = MODULES[Math.floor(random() * MODULES.length)]!;
    const count = 2 + Math.floor(random() * 4);
    for (let l = 0; l < count; l++) {
      const roll = random();
      const kind = roll < 0.5 ? 'VIDEO' : roll < 0.75 ? 'ARTICLE' : 'QUIZ';
      lessons.push({
        lessonId: newId(),
        kind,
        title: kind === 'QUIZ' ? `Quiz: ${moduleTitle}` : `Lesson ${l + 1}`,
        position: lessons.length,
        moduleTitle,
      });
    }
  }
  return { courseId: newId(), instructorId: newId(), title, lessons };
}

const random = seededRandom(14);
const courses: SeedCourse[] = [
  ...Array.from({ length: 9 }, (_, i) => demoLikeCourse(random, `Demo course ${i + 1}`)),
  // Braces and "::" in titles must not turn into blanks or cloze deletions.
  { ...demoLikeCourse(random, 'C++ {templates}:: in depth'), title: 'C++ {templates}:: in depth' },
];
// One course with a quiz for sure, and one with a single module (concepts from the fallbacks).
courses[0]!.lessons.push({
  lessonId: newId(),
  kind: 'QUIZ',
  title: 'Final quiz',
  position: courses[0]!.lessons.length,
  moduleTitle: 'Final',
});
courses[1] = {
  ...courses[1]!,
  lessons: courses[1]!.lessons.map((l) => ({ ...l, moduleTitle: 'Only module' })),
};

const TABLES = ['concept', 'conceptEdge', 'lessonConcept', 'item', 'quiz', 'note'] as const;
const countAll = async () =>
  Object.fromEntries(
    await Promise.all(TABLES.map(async (t) => [t, await (db[t] as { count(): Promise<number> }).count()] as const)),
  );

describe('seedLearning', () => {
  it('refuses a bad file before writing anything', async () => {
    const good = courses[0]!;
    expect(() => parseSeedCourses({ courses: [{ ...good, courseId: 'course-1' }] })).toThrow(
      /courses\[0\]\.courseId must be a UUID/,
    );
    expect(() =>
      parseSeedCourses({ courses: [{ ...good, lessons: [{ ...good.lessons[0]!, kind: 'PODCAST' }] }] }),
    ).toThrow(/courses\[0\]\.lessons\[0\]\.kind must be one of VIDEO, ARTICLE, QUIZ/);
    expect(() => parseSeedCourses({ courses: [good, good] })).toThrow(/courses\[1\]\.courseId is listed twice/);
    expect(() => parseSeedCourses([])).toThrow(/the file must be an object/);
    expect(Object.values(await countAll()).every((n) => n === 0)).toBe(true);
  });

  it('never asks the same question twice in a course, whatever its shape', () => {
    // The types come round again past eight items; a part without two differently named lessons
    // once made the second ordering item repeat the first (about 1 course in 100).
    const shapes = seededRandom(2026);
    for (let n = 0; n < 2000; n++) {
      const { items } = planCourse(demoLikeCourse(shapes, `Shape ${n}`));
      expect(new Set(items.map((i) => JSON.stringify(i.content))).size).toBe(items.length);
    }
  });

  it('gives every course valid material, and a second run adds nothing', async () => {
    const parsed = parseSeedCourses(JSON.parse(JSON.stringify({ courses })));
    expect(parsed).toEqual(courses);
    const first = await seedLearning(url, parsed, () => {});
    expect(first.seeded).toBe(courses.length);
    expect(first.skipped).toBe(0);

    const quizKinds = new Set<string>();
    const timeLimits = new Set<number | null>();
    const maxAttempts = new Set<number | null>();
    const policies = new Set<string>();
    for (const course of courses) {
      const courseId = course.courseId;
      const concepts = await db.concept.findMany({ where: { courseId } });
      const edges = await db.conceptEdge.findMany({ where: { courseId } });
      expect(concepts.length).toBeGreaterThanOrEqual(2);
      expect(concepts.length).toBeLessThanOrEqual(4);
      expect(edges.length).toBe(concepts.length - 1);
      // Acyclic: a topological order exists (it throws naming a cycle otherwise) and spans the graph.
      const order = topologicalOrder(
        concepts.map((c) => c.id),
        edges.map((e) => ({ from: e.prerequisiteId, to: e.conceptId })),
      );
      expect(order).toHaveLength(concepts.length);
      const conceptIds = new Set(concepts.map((c) => c.id));
      expect(concepts.every((c) => !/[{}]/.test(c.name) && c.name.length <= 120)).toBe(true);

      const tagged = await db.lessonConcept.findMany({ where: { courseId } });
      expect(tagged.map((t) => t.lessonId).sort()).toEqual(course.lessons.map((l) => l.lessonId).sort());
      expect(tagged.every((t) => conceptIds.has(t.conceptId))).toBe(true);

      const items = await db.item.findMany({ where: { courseId } });
      expect(items.length).toBeGreaterThanOrEqual(6);
      expect(items.length).toBeLessThanOrEqual(10);
      expect(new Set(items.map((i) => i.type)).size).toBeGreaterThanOrEqual(5);
      // A type that comes round again asks another question.
      expect(new Set(items.map((i) => JSON.stringify(i.content))).size).toBe(items.length);
      for (const item of items) {
        // What authoring would store: parsing the stored content gives it back unchanged.
        const content = parseItemInput(item.content, 'item');
        expect(content).toEqual(item.content);
        expect(item.type).toBe(content.type);
        expect(item.tags).toContain(SEED_POOL_TAG);
        expect(item.conceptIds.length).toBeGreaterThan(0);
        expect(item.conceptIds.every((id) => conceptIds.has(id))).toBe(true);
      }
      if (course.title.includes('{')) {
        // No marker or deletion leaked from the title into a prompt: the parser accepted every item above.
        expect(items.some((i) => JSON.stringify(i.content).includes('C++ templates: in depth'))).toBe(true);
      }

      const quizzes = await db.quiz.findMany({ where: { courseId } });
      const quizLessons = course.lessons.filter((l) => l.kind === 'QUIZ').map((l) => l.lessonId);
      expect(quizzes.map((q) => q.lessonId).sort()).toEqual([...quizLessons].sort());
      const bank = items.map((i) => ({ id: i.id, tags: i.tags }));
      for (const quiz of quizzes) {
        expect(quiz.passScore).toBe(60);
        expect(quiz.completionRequiresPass).toBe(true);
        const draw = quiz.draw as unknown as QuizDraw;
        const drawn = drawItems(draw, bank, newId());
        expect(drawn.length).toBeGreaterThanOrEqual(3);
        expect(drawn.every((id) => bank.some((b) => b.id === id))).toBe(true);
        quizKinds.add(draw.kind);
        timeLimits.add(quiz.timeLimitSeconds);
        maxAttempts.add(quiz.maxAttempts);
        policies.add(quiz.gradingPolicy);
      }

      const notes = await db.note.findMany({ where: { courseId } });
      expect(notes.length).toBeGreaterThanOrEqual(3);
      expect(notes.length).toBeLessThanOrEqual(6);
      expect(new Set(notes.map((n) => n.kind))).toEqual(new Set(['BASIC', 'CLOZE']));
      for (const note of notes) {
        if (note.kind === 'CLOZE') expect(clozeOrdinals(note.text).length).toBeGreaterThan(0);
        else expect(note.front !== '' && note.back !== '' && note.text === '').toBe(true);
        expect(note.conceptIds.every((id) => conceptIds.has(id))).toBe(true);
      }
    }
    // Quizzes vary: fixed lists and pools, with and without limits, more than one grading policy.
    expect(quizKinds).toEqual(new Set(['FIXED', 'POOLS']));
    expect([...timeLimits].some((t) => t === null) && [...timeLimits].some((t) => t !== null)).toBe(true);
    expect([...maxAttempts].some((t) => t === null) && [...maxAttempts].some((t) => t !== null)).toBe(true);
    expect(policies.size).toBeGreaterThanOrEqual(2);

    const before = await countAll();
    const second = await seedLearning(url, parsed, () => {});
    expect(second).toEqual({ seeded: 0, skipped: courses.length, concepts: 0, items: 0, quizzes: 0, notes: 0 });
    expect(await countAll()).toEqual(before);
  });

  it("leaves a course that has its instructor's own material as it is", async () => {
    const course = demoLikeCourse(random, 'Authored by hand');
    const own = await db.concept.create({
      data: { id: newId(), courseId: course.courseId, name: 'Their own concept' },
    });
    const lines: string[] = [];
    const result = await seedLearning(url, [course], (l) => lines.push(l));
    expect(result).toMatchObject({ seeded: 0, skipped: 1 });
    expect(await db.concept.findMany({ where: { courseId: course.courseId } })).toEqual([own]);
    expect(await db.item.count({ where: { courseId: course.courseId } })).toBe(0);
    expect(lines.at(-1)).toMatch(/^seed learning: 1 courses \(0 given material now: .*1 had it already\)$/);
  });
});

/** An event as a consumer hands it to a handler. */
function received<E extends EventType>(type: E, payload: ReceivedEvent<E>['payload']): ReceivedEvent<E> {
  return {
    id: newId(),
    type: type.subject,
    source: type.subject.split('.')[0]!,
    time: new Date().toISOString(),
    traceparent: newTraceparent(),
    streamSequence: Date.now(),
    deliveryCount: 1,
    payload,
  };
}

async function deliver(handlers: typeof courseHandlers | typeof enrolmentHandlers, event: ReceivedEvent) {
  const handler = handlers.find((x) => x.type.subject === event.type)!;
  await db.$transaction((tx) => handler.handle(tx, event));
}

describe('the seeded drafts and the course publication', () => {
  it('are frozen by the publication learning applies after them, and an enrolment brings their cards', async () => {
    const course = courses[0]!;
    const snapshot = create(coursePb.CourseSnapshotSchema, {
      courseId: course.courseId,
      version: 1,
      instructorId: course.instructorId,
      title: course.title,
      price: { amountMinor: 0n, currency: 'USD' },
      lessons: course.lessons.map((l) => ({
        lessonId: l.lessonId,
        moduleId: newId(),
        moduleTitle: l.moduleTitle,
        title: l.title,
        kind: coursePb.LessonKind[l.kind],
        position: l.position,
        required: true,
      })),
      publishedAt: new Date().toISOString(),
    });
    await deliver(
      courseHandlers,
      received(CourseEvents.published, create(coursePb.CoursePublishedSchema, { course: snapshot })),
    );

    const courseId = course.courseId;
    const [items, quizzes, notes] = await Promise.all([
      db.item.findMany({ where: { courseId } }),
      db.quiz.count({ where: { courseId } }),
      db.note.findMany({ where: { courseId } }),
    ]);
    expect(await db.publishedItem.count({ where: { courseId, version: 1 } })).toBe(items.length);
    expect(await db.publishedQuiz.count({ where: { courseId, version: 1, completionRequiresPass: true } })).toBe(
      quizzes,
    );
    expect(await db.publishedNote.count({ where: { courseId, version: 1 } })).toBe(notes.length);
    expect(await db.outboxEvent.count({ where: { subject: 'learning.quiz.published' } })).toBe(quizzes);

    const userId = newId();
    await deliver(
      enrolmentHandlers,
      received(
        EnrollmentEvents.created,
        create(enrollmentPb.EnrollmentCreatedSchema, {
          enrollmentId: newId(),
          userId,
          courseId,
          mode: enrollmentPb.EnrollmentMode.FREE,
          enrolledAt: new Date().toISOString(),
        }),
      ),
    );
    const noteCards = notes.reduce((n, note) => n + (note.kind === 'CLOZE' ? clozeOrdinals(note.text).length : 1), 0);
    expect(await db.card.count({ where: { userId, courseId, source: 'ITEM' } })).toBe(items.length);
    expect(await db.card.count({ where: { userId, courseId, source: 'NOTE' } })).toBe(noteCards);
  });
});
