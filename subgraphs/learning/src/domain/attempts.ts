/**
 * Taking a quiz: an attempt draws its items (fixed or from pools, seeded by the attempt's id),
 * saves answers as the learner goes, and is graded once. Submission locks the attempt's row, so a
 * resubmission, or two submissions at once, grade it exactly once and return that grade. An attempt
 * whose time limit passed is closed at its deadline with the answers saved until then.
 */
import { LearningEvents } from '@coursegraph/contracts';
import {
  conflict,
  enqueueEvent,
  forbidden,
  newId,
  notFound,
  badInput,
  requireViewer,
  type AuthContext,
  type EnqueueOptions,
} from '@coursegraph/service-kit';
import type { Attempt, AttemptAnswer, Prisma } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from '../data/db.js';
import { recomputeGrades } from '../data/grades.js';
import { observe } from '../data/mastery.js';
import { mayStudyLesson, requireId } from './access.js';
import type { ItemContent } from './assessment/item-content.js';
import { parseResponse, type ItemResponse } from './assessment/item-response.js';
import { gradeResponse } from './assessment/grading.js';
import { drawItems, type QuizDraw } from './assessment/quiz-draw.js';
import { protectedAnswers } from './assessment/protected-answers.js';

const CONTEXT = 'learning';

/** The seed of an item's shuffles within an attempt: the same view on every reload. */
export const viewSeed = (attemptId: string, itemId: string) => `${attemptId}:${itemId}`;

export const isExpired = (attempt: Pick<Attempt, 'status' | 'deadline'>, now: Date) =>
  attempt.status === 'IN_PROGRESS' && attempt.deadline !== null && now.getTime() > attempt.deadline.getTime();

/** The published quiz lesson, or NOT_FOUND. */
async function quizLesson(db: Tx | PrismaClient, lessonId: string) {
  requireId(lessonId, 'lessonId');
  const lesson = await db.courseLesson.findUnique({ where: { id: lessonId } });
  if (!lesson || lesson.kind !== 'QUIZ') throw notFound('No published quiz lesson has this id.');
  const quiz = await db.publishedQuiz.findUnique({
    where: { lessonId_version: { lessonId, version: lesson.version } },
  });
  if (!quiz) throw notFound('This quiz lesson has no published quiz yet.');
  return { lesson, quiz };
}

/** Items of an attempt's version, by id. */
export async function attemptItems(db: Tx | PrismaClient, attempt: Pick<Attempt, 'itemIds' | 'version'>) {
  const rows = await db.publishedItem.findMany({
    where: { itemId: { in: attempt.itemIds }, version: attempt.version },
  });
  const byId = new Map(rows.map((r) => [r.itemId, r]));
  return attempt.itemIds.map((id) => {
    const row = byId.get(id);
    if (!row) throw new Error(`item ${id} of version ${attempt.version} is missing`);
    return { itemId: id, content: row.content as unknown as ItemContent, conceptIds: row.conceptIds };
  });
}

/**
 * Starts an attempt, or returns the learner's attempt in progress (a reload resumes it). Attempts
 * past their deadline are closed first; the attempts limit counts every attempt.
 */
export async function startAttempt(
  db: PrismaClient,
  ctx: AuthContext,
  lessonId: string,
  now: Date,
  options: EnqueueOptions,
): Promise<Attempt> {
  const viewer = requireViewer(ctx);
  const { lesson, quiz } = await quizLesson(db, lessonId);
  if (!(await mayStudyLesson(db, viewer, lesson)))
    throw forbidden('Enrol in this course (with access to its material) to take its quizzes.');
  await closeExpired(db, viewer.userId, lessonId, now, options);
  return db.$transaction(async (tx) => {
    // One learner's starts of one quiz are serialised: two at once must not both pass the limit.
    await tx.$executeRaw`select pg_advisory_xact_lock(hashtextextended(${`${viewer.userId}:${lessonId}`}, 0))`;
    const attempts = await tx.attempt.findMany({
      where: { userId: viewer.userId, lessonId },
      orderBy: { number: 'asc' },
    });
    const open = attempts.find((a) => a.status === 'IN_PROGRESS');
    if (open) return open;
    if (quiz.maxAttempts !== null && attempts.length >= quiz.maxAttempts)
      throw forbidden(`You have used all ${quiz.maxAttempts} attempts at this quiz.`);
    const bank = await tx.publishedItem.findMany({
      where: { courseId: lesson.courseId, version: quiz.version },
      select: { itemId: true, tags: true },
    });
    const id = newId();
    const itemIds = drawItems(
      quiz.draw as unknown as QuizDraw,
      bank.map((b) => ({ id: b.itemId, tags: b.tags })),
      id,
    );
    const attempt = await tx.attempt.create({
      data: {
        id,
        userId: viewer.userId,
        courseId: lesson.courseId,
        lessonId,
        version: quiz.version,
        number: attempts.length + 1,
        itemIds,
        startedAt: now,
        deadline: quiz.timeLimitSeconds === null ? null : new Date(now.getTime() + quiz.timeLimitSeconds * 1000),
      },
    });
    // The tutor (ai) keeps these answers to itself until the attempt closes.
    const items = await attemptItems(tx, attempt);
    await enqueueEvent(
      tx,
      CONTEXT,
      LearningEvents.attemptStarted,
      {
        attemptId: id,
        userId: viewer.userId,
        courseId: lesson.courseId,
        lessonId,
        protectedAnswers: [...new Set(items.flatMap((i) => protectedAnswers(i.content)))],
        closesAt: attempt.deadline?.toISOString() ?? '',
        startedAt: now.toISOString(),
      },
      options,
    );
    return attempt;
  });
}

/** The viewer's own attempt, or NOT_FOUND (another learner's attempt looks absent). */
export async function ownAttempt(db: Tx | PrismaClient, ctx: AuthContext, attemptId: string): Promise<Attempt> {
  const viewer = requireViewer(ctx);
  requireId(attemptId, 'attemptId');
  const attempt = await db.attempt.findUnique({ where: { id: attemptId } });
  if (!attempt || attempt.userId !== viewer.userId) throw notFound('No such attempt.');
  return attempt;
}

async function lockAttempt(tx: Tx, id: string): Promise<Attempt> {
  await tx.$queryRaw`select id from attempts where id = ${id}::uuid for update`;
  return tx.attempt.findUniqueOrThrow({ where: { id } });
}

const timeIsUp = (a: Attempt) =>
  conflict(
    `The time limit of this attempt passed at ${a.deadline!.toISOString()}: it is graded with the answers saved until then.`,
    'attemptId',
  );

/** Saves (or replaces) the answer to one item of an attempt in progress. */
export async function saveAnswer(
  db: PrismaClient,
  ctx: AuthContext,
  attemptId: string,
  itemId: string,
  answer: unknown,
  now: Date,
): Promise<{ attempt: Attempt; answer: AttemptAnswer }> {
  const attempt = await ownAttempt(db, ctx, attemptId);
  requireId(itemId, 'itemId');
  if (!attempt.itemIds.includes(itemId)) throw badInput('This item is not part of this attempt.', 'itemId');
  const [item] = await attemptItems(db, { itemIds: [itemId], version: attempt.version });
  const response: ItemResponse = parseResponse(item!.content, answer, viewSeed(attempt.id, itemId), 'answer');
  return db.$transaction(async (tx) => {
    const locked = await lockAttempt(tx, attempt.id);
    if (locked.status === 'SUBMITTED')
      throw conflict('This attempt is submitted; answers can no longer change.', 'attemptId');
    if (isExpired(locked, now)) throw timeIsUp(locked);
    const json = response as unknown as Prisma.InputJsonValue;
    const saved = await tx.attemptAnswer.upsert({
      where: { attemptId_itemId: { attemptId: attempt.id, itemId } },
      create: { attemptId: attempt.id, itemId, response: json, savedAt: now },
      update: { response: json, savedAt: now },
    });
    return { attempt: locked, answer: saved };
  });
}

/**
 * Submits and grades the viewer's attempt. Already submitted: returns it unchanged. Past its time
 * limit: refused (it is closed at its deadline instead, with what was saved until then).
 */
export async function submitAttempt(
  db: PrismaClient,
  ctx: AuthContext,
  attemptId: string,
  now: Date,
  options: EnqueueOptions,
): Promise<Attempt> {
  const attempt = await ownAttempt(db, ctx, attemptId);
  if (attempt.status === 'SUBMITTED') return attempt;
  if (isExpired(attempt, now)) {
    await closeExpired(db, attempt.userId, attempt.lessonId, now, options);
    throw timeIsUp(attempt);
  }
  return db.$transaction((tx) => grade(tx, attempt.id, now, options));
}

/** Closes the learner's attempts at this quiz whose deadline passed, each graded at its deadline. */
export async function closeExpired(
  db: PrismaClient,
  userId: string,
  lessonId: string,
  now: Date,
  options: EnqueueOptions,
): Promise<void> {
  const expired = await db.attempt.findMany({
    where: { userId, lessonId, status: 'IN_PROGRESS', deadline: { lt: now } },
    select: { id: true, deadline: true },
  });
  for (const a of expired) await db.$transaction((tx) => grade(tx, a.id, a.deadline!, options));
}

/** Grades an attempt in progress under its row lock; a submitted one is returned as it is. */
async function grade(tx: Tx, attemptId: string, at: Date, options: EnqueueOptions): Promise<Attempt> {
  const attempt = await lockAttempt(tx, attemptId);
  if (attempt.status === 'SUBMITTED') return attempt;
  const items = await attemptItems(tx, attempt);
  const answers = new Map(
    (await tx.attemptAnswer.findMany({ where: { attemptId } })).map((a) => [
      a.itemId,
      a.response as unknown as ItemResponse,
    ]),
  );
  let earned = 0;
  let possible = 0;
  const scored: { itemId: string; score: number; conceptIds: string[] }[] = [];
  for (const item of items) {
    const response = answers.get(item.itemId);
    const score = response ? gradeResponse(item.content, response).score : 0;
    earned += score * item.content.points;
    possible += item.content.points;
    scored.push({ itemId: item.itemId, score, conceptIds: item.conceptIds });
  }
  for (const s of scored) {
    if (answers.has(s.itemId))
      await tx.attemptAnswer.update({
        where: { attemptId_itemId: { attemptId, itemId: s.itemId } },
        data: { score: s.score },
      });
    else
      await tx.attemptAnswer.create({
        data: { attemptId, itemId: s.itemId, response: {}, savedAt: at, score: 0 },
      });
  }
  const quiz = await tx.publishedQuiz.findUniqueOrThrow({
    where: { lessonId_version: { lessonId: attempt.lessonId, version: attempt.version } },
  });
  // The current version's policy and pass mark decide the grade (a republication may change them).
  const lesson = await tx.courseLesson.findUnique({ where: { id: attempt.lessonId } });
  const current =
    (lesson &&
      (await tx.publishedQuiz.findUnique({
        where: { lessonId_version: { lessonId: attempt.lessonId, version: lesson.version } },
      }))) ??
    quiz;
  const score = possible === 0 ? 0 : Math.round((earned / possible) * 10_000) / 100;
  const passed = score >= current.passScore;
  const hadPassed =
    (await tx.attempt.count({ where: { userId: attempt.userId, lessonId: attempt.lessonId, passed: true } })) > 0;
  const graded = await tx.attempt.update({
    where: { id: attemptId },
    data: { status: 'SUBMITTED', submittedAt: at, score, passed },
  });
  await recomputeGrades(tx, attempt.lessonId, current.gradingPolicy, current.passScore, attempt.userId);
  const gradeRow = await tx.grade.findUnique({
    where: { userId_lessonId: { userId: attempt.userId, lessonId: attempt.lessonId } },
  });
  const base = { attemptId, userId: attempt.userId, courseId: attempt.courseId, lessonId: attempt.lessonId, score };
  await enqueueEvent(
    tx,
    CONTEXT,
    LearningEvents.quizGraded,
    { ...base, passed, attemptNumber: attempt.number, gradedAt: at.toISOString(), quizGrade: gradeRow?.grade ?? score },
    options,
  );
  if (passed && !hadPassed)
    await enqueueEvent(tx, CONTEXT, LearningEvents.quizPassed, { ...base, passedAt: at.toISOString() }, options);
  await enqueueEvent(
    tx,
    CONTEXT,
    LearningEvents.attemptClosed,
    {
      attemptId,
      userId: attempt.userId,
      courseId: attempt.courseId,
      lessonId: attempt.lessonId,
      closedAt: at.toISOString(),
    },
    options,
  );
  for (const s of scored)
    await observe(
      tx,
      { userId: attempt.userId, courseId: attempt.courseId, conceptIds: s.conceptIds, score: s.score, at },
      options,
    );
  return graded;
}
