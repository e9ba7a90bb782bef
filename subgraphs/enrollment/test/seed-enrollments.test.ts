/**
 * The demo enrolment seed and learning's quizzes: lessons whose quiz must be passed (enrollment's
 * quiz_requirements) are never marked done by the seed, and the seed does not fail on them; a quiz
 * lesson whose requirement has not arrived yet, or that does not require a pass, is completed as any
 * lesson. Runs on a fresh database holding only these courses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import { contextDatabaseUrl, freshMigratedDatabase } from '@coursegraph/test-support';
import { createDb, type PrismaClient } from '../src/data/db.js';
import { seedEnrollments } from '../src/seed-enrollments.js';

const DATABASE = 'coursegraph_enrollment_seed';
let url: string;
let db: PrismaClient;

beforeAll(async () => {
  await freshMigratedDatabase(DATABASE);
  url = contextDatabaseUrl('enrollment', DATABASE);
  db = createDb(url, 4);
});
afterAll(async () => {
  await db.$disconnect();
});

/** A free published course whose first lesson is a quiz lesson; every lesson required. */
async function freeCourse(lessons: number, quiz?: { completionRequiresPass: boolean }) {
  const courseId = newId();
  const lessonIds = Array.from({ length: lessons }, () => newId());
  await db.courseProjection.create({
    data: {
      courseId,
      version: 1,
      title: `Course ${courseId.slice(0, 8)}`,
      state: 'PUBLISHED',
      isFree: true,
      // Given, as the projection writes it: an omitted list is NULL, which `isEmpty` does not match.
      prerequisiteCourseIds: [],
      lessonIds,
      requiredLessonIds: lessonIds,
    },
  });
  if (quiz)
    await db.quizRequirement.create({
      data: { lessonId: lessonIds[0]!, courseId, courseVersion: 1, passScore: 60, ...quiz },
    });
  return { courseId, quizLessonId: lessonIds[0]!, otherLessonIds: lessonIds.slice(1) };
}

const progressOn = (lessonIds: string[]) => db.lessonProgress.count({ where: { lessonId: { in: lessonIds } } });

describe('seedEnrollments with quiz lessons', () => {
  it('leaves quiz lessons that must be passed to their quiz, completes the others, and a rerun adds nothing', async () => {
    const gated = await freeCourse(4, { completionRequiresPass: true });
    const notYetKnown = await freeCourse(3);
    const optional = await freeCourse(2, { completionRequiresPass: false });
    const learners = Array.from({ length: 60 }, () => newId());
    const lines: string[] = [];

    const first = await seedEnrollments(url, learners, 3, (l) => lines.push(l));
    expect(first.enrolled).toBeGreaterThan(0);
    const leftToQuiz = Number(lines.at(-1)?.match(/, (\d+) quiz lessons left to their quiz\)$/)?.[1]);
    expect(leftToQuiz).toBeGreaterThan(0);

    // The gated quiz lesson is never done, so its course never completes; its other lessons are done.
    expect(await progressOn([gated.quizLessonId])).toBe(0);
    expect(await progressOn(gated.otherLessonIds)).toBeGreaterThan(0);
    expect(await db.enrollment.count({ where: { courseId: gated.courseId, status: 'COMPLETED' } })).toBe(0);
    // Without a requirement (not applied yet, or no pass needed) a quiz lesson is done like any other.
    expect(await progressOn([notYetKnown.quizLessonId])).toBeGreaterThan(0);
    expect(await progressOn([optional.quizLessonId])).toBeGreaterThan(0);
    expect(await db.enrollment.count({ where: { status: 'COMPLETED' } })).toBe(first.completed);

    const rows = await db.lessonProgress.count();
    expect(await seedEnrollments(url, learners, 3, () => {})).toEqual({ enrolled: 0, completed: 0, quizGated: 0 });
    expect(await db.lessonProgress.count()).toBe(rows);
  });

  it('a requirement applied after an earlier run holds for the learners seeded after it', async () => {
    const course = await freeCourse(3);
    await db.quizRequirement.create({
      data: {
        lessonId: course.quizLessonId,
        courseId: course.courseId,
        courseVersion: 1,
        passScore: 60,
        completionRequiresPass: true,
      },
    });
    const learners = Array.from({ length: 40 }, () => newId());
    const result = await seedEnrollments(url, learners, 1, () => {});
    expect(result.quizGated).toBeGreaterThan(0);
    expect(await progressOn([course.quizLessonId])).toBe(0);
    expect(await progressOn(course.otherLessonIds)).toBeGreaterThan(0);
  });
});
