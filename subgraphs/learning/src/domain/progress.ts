/**
 * What learners and instructors read: quizzes as learners see them, attempts, quiz statistics,
 * grades and the gradebook, mastery and the next best activity.
 */
import {
  decodeCursor,
  encodeCursor,
  forbidden,
  pageSize,
  requireViewer,
  type AuthContext,
} from '@coursegraph/service-kit';
import type { Attempt, PublishedQuiz } from '../generated/prisma/client.js';
import type { PrismaClient } from '../data/db.js';
import { canManage, managedCourse, requireId } from './access.js';
import { attemptItems, closeExpired, viewSeed } from './attempts.js';
import { correctAnswerView } from './assessment/correct-answer-view.js';
import { answerInputView, type ItemResponse } from './assessment/item-response.js';
import { itemStatistics, scoreDistribution } from './assessment/item-statistics.js';
import { learnerView } from './assessment/learner-view.js';
import { nextBestActivity, type NextActivity } from './mastery/next-activity.js';
import { MASTERY_THRESHOLD } from './mastery/bkt.js';
import { reviewQueue } from './reviews.js';

/** The published quiz of a lesson (its course's current version), or null. */
export async function publishedQuizOf(db: PrismaClient, lessonId: string): Promise<PublishedQuiz | null> {
  const lesson = await db.courseLesson.findUnique({ where: { id: lessonId } });
  if (!lesson || lesson.kind !== 'QUIZ') return null;
  return db.publishedQuiz.findUnique({ where: { lessonId_version: { lessonId, version: lesson.version } } });
}

/** How many items an attempt at this quiz holds. */
export function quizItemCount(quiz: PublishedQuiz): number {
  const draw = quiz.draw as { kind: string; itemIds?: string[]; pools?: { count: number }[] };
  return draw.kind === 'FIXED' ? (draw.itemIds?.length ?? 0) : (draw.pools ?? []).reduce((n, p) => n + p.count, 0);
}

/** The viewer's attempts at a quiz lesson, oldest first (expired ones closed first). */
export async function myAttempts(db: PrismaClient, ctx: AuthContext, lessonId: string, now: Date): Promise<Attempt[]> {
  const viewer = requireViewer(ctx);
  await closeExpired(db, viewer.userId, lessonId, now, {});
  return db.attempt.findMany({ where: { userId: viewer.userId, lessonId }, orderBy: { number: 'asc' } });
}

/** An attempt's items as its learner sees them: answer keys and scores only once it is submitted. */
export async function attemptItemViews(db: PrismaClient, attempt: Attempt) {
  const items = await attemptItems(db, attempt);
  const answers = new Map(
    (await db.attemptAnswer.findMany({ where: { attemptId: attempt.id } })).map((a) => [a.itemId, a]),
  );
  const submitted = attempt.status === 'SUBMITTED';
  return items.map(({ itemId, content }) => {
    const seed = viewSeed(attempt.id, itemId);
    const saved = answers.get(itemId);
    const response =
      saved && Object.keys(saved.response as object).length > 0 ? (saved.response as unknown as ItemResponse) : null;
    return {
      itemId,
      ...learnerView(content, seed),
      answer: response ? answerInputView(content, response, seed) : null,
      score: submitted ? (saved?.score ?? 0) : null,
      solution: submitted ? correctAnswerView(content, seed) : null,
    };
  });
}

/** Item difficulty and discrimination and the score distribution of a quiz lesson (instructors, admins). */
export async function quizStatistics(db: PrismaClient, ctx: AuthContext, quiz: PublishedQuiz) {
  await managedCourse(db, ctx, quiz.courseId);
  const attempts = await db.attempt.findMany({
    where: { lessonId: quiz.lessonId, status: 'SUBMITTED' },
    select: { id: true, score: true },
  });
  const responses = await db.attemptAnswer.findMany({
    where: { attemptId: { in: attempts.map((a) => a.id) }, score: { not: null } },
    select: { attemptId: true, itemId: true, score: true },
  });
  const stats = itemStatistics(responses.map((r) => ({ attemptId: r.attemptId, itemId: r.itemId, score: r.score! })));
  const items = await db.item.findMany({ where: { id: { in: [...stats.keys()] } } });
  const byId = new Map(items.map((i) => [i.id, i]));
  return {
    attempts: attempts.length,
    distribution: scoreDistribution(attempts.map((a) => a.score ?? 0)),
    items: [...stats.entries()].filter(([id]) => byId.has(id)).map(([id, s]) => ({ item: byId.get(id)!, ...s })),
  };
}

export interface QuizGradeView {
  lessonId: string;
  grade: number;
  attempts: number;
  passed: boolean;
}

export interface CourseGradeView {
  userId: string;
  courseId: string;
  grade: number | null;
  quizzes: QuizGradeView[];
}

const courseGrade = (userId: string, courseId: string, rows: QuizGradeView[]): CourseGradeView => ({
  userId,
  courseId,
  grade: rows.length === 0 ? null : rows.reduce((s, r) => s + r.grade, 0) / rows.length,
  quizzes: rows,
});

export async function myCourseGrades(db: PrismaClient, ctx: AuthContext, courseId: string): Promise<CourseGradeView> {
  const viewer = requireViewer(ctx);
  const rows = await db.grade.findMany({ where: { userId: viewer.userId, courseId }, orderBy: { lessonId: 'asc' } });
  return courseGrade(viewer.userId, courseId, rows);
}

/** Every learner's grades in a course, a page of learners by id (instructors, admins). */
export async function gradebook(
  db: PrismaClient,
  ctx: AuthContext,
  courseId: string,
  args: { first?: number | null; after?: string | null },
) {
  await managedCourse(db, ctx, courseId);
  const first = pageSize(args.first);
  const after = decodeCursor(args.after);
  if (after !== null) requireId(after, 'after');
  const learners = await db.$queryRaw<{ user_id: string }[]>`
    select distinct user_id from grades
     where course_id = ${courseId}::uuid and (${after}::uuid is null or user_id > ${after}::uuid)
     order by user_id limit ${first + 1}`;
  const page = learners.slice(0, first).map((l) => l.user_id);
  const [rows, total] = await Promise.all([
    db.grade.findMany({ where: { courseId, userId: { in: page } }, orderBy: { lessonId: 'asc' } }),
    db.$queryRaw<
      { n: number }[]
    >`select count(distinct user_id)::int as n from grades where course_id = ${courseId}::uuid`,
  ]);
  return {
    edges: page.map((userId) => ({
      cursor: encodeCursor(userId),
      node: courseGrade(
        userId,
        courseId,
        rows.filter((r) => r.userId === userId),
      ),
    })),
    pageInfo: { hasNextPage: learners.length > first, endCursor: page.length ? encodeCursor(page.at(-1)!) : null },
    totalCount: total[0]?.n ?? 0,
  };
}

export async function myMastery(db: PrismaClient, ctx: AuthContext, courseId: string) {
  const viewer = requireViewer(ctx);
  return db.mastery.findMany({ where: { userId: viewer.userId, courseId }, orderBy: { conceptId: 'asc' } });
}

/** The viewer's next best activity in a course (learners with access; instructors see their own too). */
export async function nextActivity(
  db: PrismaClient,
  ctx: AuthContext,
  courseId: string,
  now: Date,
): Promise<NextActivity> {
  const viewer = requireViewer(ctx);
  requireId(courseId, 'courseId');
  const [concepts, edges, mastery, lessons, tags, completions, passes, queue] = await Promise.all([
    db.concept.findMany({ where: { courseId }, orderBy: { createdAt: 'asc' } }),
    db.conceptEdge.findMany({ where: { courseId } }),
    db.mastery.findMany({ where: { userId: viewer.userId, courseId } }),
    db.courseLesson.findMany({ where: { courseId }, orderBy: { position: 'asc' } }),
    db.lessonConcept.findMany({ where: { courseId } }),
    db.lessonCompletion.findMany({ where: { userId: viewer.userId, courseId } }),
    db.grade.findMany({ where: { userId: viewer.userId, courseId, passed: true } }),
    reviewQueue(db, ctx, courseId, 0, now),
  ]);
  const done = new Set(completions.map((c) => c.lessonId));
  const passed = new Set(passes.map((p) => p.lessonId));
  return nextBestActivity({
    now,
    concepts: concepts.map((c) => ({ id: c.id, title: c.name })),
    edges: edges.map((e) => ({ from: e.prerequisiteId, to: e.conceptId })),
    mastery: new Map(mastery.map((m) => [m.conceptId, m.pKnown])),
    dueCardCount: queue.dueCount,
    lessons: lessons.map((l) => ({
      lessonId: l.id,
      kind: l.kind,
      position: l.position,
      conceptIds: tags.filter((t) => t.lessonId === l.id).map((t) => t.conceptId),
      completed: done.has(l.id) || passed.has(l.id),
      ...(l.kind === 'QUIZ' ? { quizPassed: passed.has(l.id) } : {}),
    })),
  });
}

export const isMasteredP = (p: number) => p >= MASTERY_THRESHOLD;

/** May the viewer see another user's review settings? Themself and admins. */
export function requireSelfOrAdmin(ctx: AuthContext, userId: string): void {
  const viewer = requireViewer(ctx);
  if (viewer.userId !== userId && viewer.role !== 'ADMIN')
    throw forbidden('Only the user themself or an admin sees review settings.');
}

export { canManage };
