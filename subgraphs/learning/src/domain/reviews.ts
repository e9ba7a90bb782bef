/**
 * Reviewing flashcards with FSRS: the due queue within the learner's daily limits, a review that
 * reschedules the card (load-balanced, leeches suspended, siblings buried until tomorrow), undo of
 * the last review, and the learner's settings. A review names the card version it was made against,
 * so the same review sent twice (or two tabs at once) is applied once and the other is refused.
 */
import { LearningEvents, learning as pb } from '@coursegraph/contracts';
import {
  badInput,
  conflict,
  enqueueEvent,
  forbidden,
  newId,
  notFound,
  requireViewer,
  type AuthContext,
  type EnqueueOptions,
} from '@coursegraph/service-kit';
import type { Card, LearnerSettings, Prisma } from '../generated/prisma/client.js';
import type { PrismaClient, Tx } from '../data/db.js';
import { dayLoadFor } from '../data/day-load.js';
import { addCourseCards, mayStudy, studyableCourses } from '../data/deck.js';
import { observe } from '../data/mastery.js';
import { requireId } from './access.js';
import { leechOnReview } from './scheduling/leech.js';
import { dayNumber, dayStart, DAY_START_HOUR_UTC_DEFAULT } from './scheduling/load-balance.js';
import { buryUntil, dueQueuePlan } from './scheduling/queue-limits.js';
import { createScheduler, RATINGS, type CardState, type Rating, type Scheduler } from './scheduling/scheduler.js';

const CONTEXT = 'learning';
const DAY_START = DAY_START_HOUR_UTC_DEFAULT;
const RATING_PB: Record<Rating, pb.Rating> = {
  AGAIN: pb.Rating.AGAIN,
  HARD: pb.Rating.HARD,
  GOOD: pb.Rating.GOOD,
  EASY: pb.Rating.EASY,
};
export const QUEUE_LIMIT_MAX = 200;

export const DEFAULT_SETTINGS = { newPerDay: 20, reviewsPerDay: 200, desiredRetention: 0.9, leechThreshold: 8 };

export async function settingsOf(db: Tx | PrismaClient, userId: string): Promise<Omit<LearnerSettings, 'updatedAt'>> {
  const row = await db.learnerSettings.findUnique({ where: { userId } });
  return (
    row ?? {
      userId,
      ...DEFAULT_SETTINGS,
      params: [],
      optimizedAt: null,
      optimizedReviewCount: 0,
      calibration: null,
    }
  );
}

/** The learner's scheduler: their own parameters once optimised, FSRS-6's defaults before. */
export function schedulerFor(settings: Pick<LearnerSettings, 'params' | 'desiredRetention'>): Scheduler {
  return createScheduler({
    ...(settings.params.length > 0 ? { params: settings.params } : {}),
    desiredRetention: settings.desiredRetention,
  });
}

export const cardState = (c: Card): CardState => ({
  state: c.state,
  due: c.due,
  stability: c.stability,
  difficulty: c.difficulty,
  elapsedDays: c.elapsedDays,
  scheduledDays: c.scheduledDays,
  learningSteps: c.learningSteps,
  reps: c.reps,
  lapses: c.lapses,
  lastReview: c.lastReview,
});

export interface ReviewQueue {
  dueCount: number;
  newCount: number;
  cards: Card[];
}

/**
 * The next cards, in order: (re)learning cards due now, then review cards due by the end of today,
 * then new cards, within what is left of today's limits (reviews and new cards introduced today
 * count; undone reviews do not).
 */
export async function reviewQueue(
  db: PrismaClient,
  ctx: AuthContext,
  courseId: string | null | undefined,
  limit: number,
  now: Date,
): Promise<ReviewQueue> {
  const viewer = requireViewer(ctx);
  if (!Number.isInteger(limit) || limit < 0 || limit > QUEUE_LIMIT_MAX)
    throw badInput(`limit must be from 0 to ${QUEUE_LIMIT_MAX}.`, 'limit');
  const studyable = await studyableCourses(db, viewer.userId);
  const courses = courseId ? studyable.filter((id) => id === requireId(courseId, 'courseId')) : studyable;
  if (courses.length === 0) return { dueCount: 0, newCount: 0, cards: [] };
  const settings = await settingsOf(db, viewer.userId);
  const today = dayNumber(now, DAY_START);
  const todayStart = dayStart(today, DAY_START);
  const tomorrow = dayStart(today + 1, DAY_START);
  const [done] = await db.$queryRaw<{ introduced: number; reviewed: number }[]>`
    select count(*) filter (where state_before = 'NEW')::int as introduced,
           count(*) filter (where state_before = 'REVIEW')::int as reviewed
      from review_logs where user_id = ${viewer.userId}::uuid and reviewed_at >= ${todayStart} and undone_at is null`;
  const plan = dueQueuePlan({
    newPerDay: settings.newPerDay,
    reviewsPerDay: settings.reviewsPerDay,
    newIntroducedToday: done?.introduced ?? 0,
    reviewsDoneToday: done?.reviewed ?? 0,
  });
  const visible = {
    userId: viewer.userId,
    courseId: { in: courses },
    suspended: false,
    OR: [{ buriedUntil: null }, { buriedUntil: { lte: now } }],
  } satisfies Prisma.CardWhereInput;
  const [learning, reviews, fresh, dueReviews, learningCount] = await Promise.all([
    db.card.findMany({
      where: { ...visible, state: { in: ['LEARNING', 'RELEARNING'] }, due: { lte: now } },
      orderBy: [{ due: 'asc' }, { id: 'asc' }],
      take: limit,
    }),
    db.card.findMany({
      where: { ...visible, state: 'REVIEW', due: { lt: tomorrow } },
      orderBy: [{ due: 'asc' }, { id: 'asc' }],
      take: Math.min(limit, plan.reviewLimit),
    }),
    db.card.findMany({
      where: { ...visible, state: 'NEW' },
      orderBy: [{ position: 'asc' }, { id: 'asc' }],
      take: Math.min(limit, plan.newLimit),
    }),
    db.card.count({ where: { ...visible, state: 'REVIEW', due: { lt: tomorrow } } }),
    db.card.count({ where: { ...visible, state: { in: ['LEARNING', 'RELEARNING'] }, due: { lte: now } } }),
  ]);
  return {
    dueCount: dueReviews + learningCount,
    newCount: fresh.length,
    cards: [...learning, ...reviews, ...fresh].slice(0, limit),
  };
}

/** The viewer's own card, or NOT_FOUND (another learner's card looks absent). */
export async function ownCard(db: Tx | PrismaClient, ctx: AuthContext, cardId: string): Promise<Card> {
  const viewer = requireViewer(ctx);
  requireId(cardId, 'cardId');
  const card = await db.card.findUnique({ where: { id: cardId } });
  if (!card || card.userId !== viewer.userId) throw notFound('No such card in your deck.');
  return card;
}

/** The concepts a card's source is tagged with, in its latest published version. */
async function cardConcepts(tx: Tx, card: Card): Promise<string[]> {
  if (card.source === 'ITEM') {
    const row = await tx.publishedItem.findFirst({ where: { itemId: card.sourceId }, orderBy: { version: 'desc' } });
    return row?.conceptIds ?? [];
  }
  const row = await tx.publishedNote.findFirst({ where: { noteId: card.sourceId }, orderBy: { version: 'desc' } });
  return row?.conceptIds ?? [];
}

interface UndoState {
  card: CardState & { suspended: boolean; leech: boolean; buriedUntil: string | null };
  buried: string[];
}

export interface ReviewInput {
  cardId: string;
  rating: string;
  version: number;
}

export async function reviewCard(
  db: PrismaClient,
  ctx: AuthContext,
  input: ReviewInput,
  now: Date,
  options: EnqueueOptions,
): Promise<{ card: Card; retrievability: number | null }> {
  if (!RATINGS.includes(input.rating as Rating))
    throw badInput(`rating must be one of ${RATINGS.join(', ')}.`, 'rating');
  const rating = input.rating as Rating;
  const own = await ownCard(db, ctx, input.cardId);
  if (!(await studyableCourses(db, own.userId)).includes(own.courseId))
    throw forbidden("Your enrolment no longer grants this course's material.");
  return db.$transaction(async (tx) => {
    await tx.$queryRaw`select id from cards where id = ${own.id}::uuid for update`;
    const card = await tx.card.findUniqueOrThrow({ where: { id: own.id } });
    if (card.version !== input.version)
      throw conflict('This card changed since you fetched it (reviewed or undone): fetch it again.', 'version');
    if (card.suspended) throw conflict('This card is suspended.', 'cardId');
    if (card.lastReview && now.getTime() < card.lastReview.getTime())
      throw badInput('A review cannot be earlier than the card’s last review.', 'cardId');
    const settings = await settingsOf(tx, card.userId);
    const scheduler = schedulerFor(settings);
    const before = cardState(card);
    const load = await dayLoadFor(tx, card.userId, (probe) => scheduler.review(before, rating, now, probe, card.id));
    const { card: after, log } = scheduler.review(before, rating, now, load, card.id);
    const leech = leechOnReview(card.lapses, after.lapses, settings.leechThreshold);
    const siblings =
      card.state === 'NEW' || card.state === 'REVIEW' || after.state === 'REVIEW'
        ? await tx.card.findMany({
            where: {
              userId: card.userId,
              source: card.source,
              sourceId: card.sourceId,
              id: { not: card.id },
              state: { in: ['NEW', 'REVIEW'] },
              suspended: false,
            },
            select: { id: true },
          })
        : [];
    const until = buryUntil(now, DAY_START);
    if (siblings.length > 0)
      await tx.card.updateMany({ where: { id: { in: siblings.map((s) => s.id) } }, data: { buriedUntil: until } });
    const undo: UndoState = {
      card: {
        ...before,
        suspended: card.suspended,
        leech: card.leech,
        buriedUntil: card.buriedUntil?.toISOString() ?? null,
      },
      buried: siblings.map((s) => s.id),
    };
    const reviewId = newId();
    await tx.reviewLog.create({
      data: {
        id: reviewId,
        cardId: card.id,
        userId: card.userId,
        rating: RATINGS.indexOf(rating) + 1,
        stateBefore: card.state,
        reviewedAt: now,
        elapsedDays: log.elapsedDays,
        scheduledDays: log.scheduledDays,
        retrievability: log.retrievability,
        previous: undo as unknown as Prisma.InputJsonValue,
      },
    });
    const updated = await tx.card.update({
      where: { id: card.id },
      data: {
        ...after,
        leech: card.leech || leech,
        suspended: card.suspended || leech,
        version: { increment: 1 },
      },
    });
    await enqueueEvent(
      tx,
      CONTEXT,
      LearningEvents.reviewLogged,
      {
        reviewId,
        cardId: card.id,
        userId: card.userId,
        courseId: card.courseId,
        rating: RATING_PB[rating],
        reviewedAt: now.toISOString(),
        nextDueAt: after.due.toISOString(),
        retrievability: log.retrievability ?? 0,
      },
      options,
    );
    await observe(
      tx,
      {
        userId: card.userId,
        courseId: card.courseId,
        conceptIds: await cardConcepts(tx, card),
        score: rating === 'AGAIN' ? 0 : 1,
        at: now,
      },
      options,
    );
    return { card: updated, retrievability: log.retrievability };
  });
}

/**
 * Undoes the learner's last review that is not undone yet: the card returns to its state before it
 * and the siblings it buried come back. Mastery keeps the observation (BKT has no inverse step);
 * the next answers move it on.
 */
export async function undoLastReview(db: PrismaClient, ctx: AuthContext, now: Date): Promise<Card> {
  const viewer = requireViewer(ctx);
  return db.$transaction(async (tx) => {
    const [last] = await tx.$queryRaw<{ id: string; card_id: string }[]>`
      select id, card_id from review_logs
       where user_id = ${viewer.userId}::uuid and undone_at is null
       order by reviewed_at desc, id desc limit 1 for update`;
    if (!last) throw notFound('There is no review to undo.');
    const log = await tx.reviewLog.findUniqueOrThrow({ where: { id: last.id } });
    await tx.$queryRaw`select id from cards where id = ${log.cardId}::uuid for update`;
    const previous = log.previous as unknown as UndoState;
    const c = previous.card;
    await tx.reviewLog.update({ where: { id: log.id }, data: { undoneAt: now } });
    if (previous.buried.length > 0)
      await tx.card.updateMany({ where: { id: { in: previous.buried } }, data: { buriedUntil: null } });
    return tx.card.update({
      where: { id: log.cardId },
      data: {
        state: c.state,
        due: new Date(c.due),
        stability: c.stability,
        difficulty: c.difficulty,
        elapsedDays: c.elapsedDays,
        scheduledDays: c.scheduledDays,
        learningSteps: c.learningSteps,
        reps: c.reps,
        lapses: c.lapses,
        lastReview: c.lastReview ? new Date(c.lastReview) : null,
        suspended: c.suspended,
        leech: c.leech,
        buriedUntil: c.buriedUntil ? new Date(c.buriedUntil) : null,
        version: { increment: 1 },
      },
    });
  });
}

export interface SettingsInput {
  newPerDay?: number | null;
  reviewsPerDay?: number | null;
  desiredRetention?: number | null;
  leechThreshold?: number | null;
}

function whole(value: number | null | undefined, field: string, min: number, max: number): number | undefined {
  if (value == null) return undefined;
  if (!Number.isInteger(value) || value < min || value > max)
    throw badInput(`${field} must be a whole number from ${min} to ${max}.`, field);
  return value;
}

export async function updateSettings(db: PrismaClient, ctx: AuthContext, input: SettingsInput) {
  const viewer = requireViewer(ctx);
  const retention = input.desiredRetention;
  if (retention != null && !(Number.isFinite(retention) && retention >= 0.7 && retention <= 0.99))
    throw badInput('desiredRetention must be from 0.7 to 0.99.', 'desiredRetention');
  const data = {
    newPerDay: whole(input.newPerDay, 'newPerDay', 0, 9999),
    reviewsPerDay: whole(input.reviewsPerDay, 'reviewsPerDay', 0, 99_999),
    leechThreshold: whole(input.leechThreshold, 'leechThreshold', 3, 99),
    ...(retention != null ? { desiredRetention: retention } : {}),
  };
  return db.learnerSettings.upsert({
    where: { userId: viewer.userId },
    create: { userId: viewer.userId, ...DEFAULT_SETTINGS, ...stripUndefined(data) },
    update: stripUndefined(data),
  });
}

const stripUndefined = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Adds the course's published cards to the viewer's deck. */
export async function addCardsOnRequest(
  db: PrismaClient,
  ctx: AuthContext,
  courseId: string,
  now: Date,
): Promise<number> {
  const viewer = requireViewer(ctx);
  requireId(courseId, 'courseId');
  return db.$transaction(async (tx) => {
    if (!(await mayStudy(tx, viewer.userId, courseId)))
      throw forbidden('Enrol in this course (with access to its material) to study its cards.');
    return addCourseCards(tx, viewer.userId, courseId, now);
  });
}

/** Calibration of a learner's FSRS parameters on held-out reviews (stored by the optimiser). */
export interface FsrsCalibration {
  heldOutReviews: number;
  before: { logLoss: number; rmseBins: number };
  after: { logLoss: number; rmseBins: number };
}

/** A learner's settings as the graph shows them. */
export async function reviewSettingsView(db: Tx | PrismaClient, userId: string) {
  const s = await settingsOf(db, userId);
  const reviewCount = await db.reviewLog.count({ where: { userId, undoneAt: null } });
  return {
    newPerDay: s.newPerDay,
    reviewsPerDay: s.reviewsPerDay,
    desiredRetention: s.desiredRetention,
    leechThreshold: s.leechThreshold,
    reviewCount,
    optimized: s.params.length > 0,
    optimizedAt: s.optimizedAt,
    calibration: (s.calibration as FsrsCalibration | null) ?? null,
  };
}
