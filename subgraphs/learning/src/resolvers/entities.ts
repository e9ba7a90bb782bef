/** Learning's entities and the fields it adds to other contexts' entities (Lesson, Course, User). */
import { requireViewer } from '@coursegraph/service-kit';
import type {
  ActivityResolvers,
  AttemptResolvers,
  CardResolvers,
  ConceptMasteryResolvers,
  ConceptResolvers,
  CourseGradeResolvers,
  CourseResolvers,
  ItemResolvers,
  ItemStatisticResolvers,
  LessonResolvers,
  NoteResolvers,
  QuizDraftResolvers,
  QuizGradeResolvers,
  QuizResolvers,
  UserResolvers,
} from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { Concept as ConceptRow } from '../generated/prisma/client.js';
import type { ItemContent } from '../domain/assessment/item-content.js';
import { canManage, requireStudyAccess } from '../domain/access.js';
import { ownAttempt } from '../domain/attempts.js';
import { itemCardFaces, noteCardFaces } from '../domain/card-faces.js';
import {
  attemptItemViews,
  gradebook,
  myAttempts,
  myCourseGrades,
  myMastery,
  nextActivity,
  publishedQuizOf,
  quizItemCount,
  quizStatistics,
  requireSelfOrAdmin,
} from '../domain/progress.js';
import { cardState, DEFAULT_SETTINGS, ownCard, reviewSettingsView, schedulerFor } from '../domain/reviews.js';
import type { QuizDraw } from '../domain/assessment/quiz-draw.js';
import { itemBank } from '../domain/item-bank.js';
import { topologicalOrder } from '../domain/mastery/concept-graph.js';

/** Null when the viewer may not manage the course: instructor-only fields read as absent to others. */
async function managerOnly<T>(ctx: Context, courseId: string, read: () => Promise<T>): Promise<T | null> {
  const course = await ctx.loaders.course.load(courseId);
  if (!course || !canManage(ctx.viewer, course)) return null;
  return read();
}

const conceptsById = async (ctx: Context, ids: readonly string[]): Promise<ConceptRow[]> =>
  (await ctx.loaders.concept.loadMany([...ids])).filter((c): c is ConceptRow => !!c && !(c instanceof Error));

export const Item: ItemResolvers = {
  __resolveReference: async (ref, ctx) => {
    const item = await ctx.db.item.findUnique({ where: { id: ref.id } });
    if (!item) return null;
    return (await managerOnly(ctx, item.courseId, async () => item)) ?? null;
  },
  type: (i) => i.type as ItemContent['type'],
  prompt: (i) => (i.content as unknown as ItemContent).prompt,
  content: (i) => i.content,
  concepts: (i, _a, ctx) => conceptsById(ctx, i.conceptIds),
  publishedVersion: async (i, _a, ctx) => (await ctx.loaders.latestItem.load(i.id))?.version ?? null,
};

export const QuizDraft: QuizDraftResolvers = {
  itemIds: (q) => {
    const draw = q.draw as unknown as QuizDraw;
    return draw.kind === 'FIXED' ? draw.itemIds : null;
  },
  pools: (q) => {
    const draw = q.draw as unknown as QuizDraw;
    return draw.kind === 'POOLS' ? draw.pools : null;
  },
};

export const Quiz: QuizResolvers = {
  itemCount: (q) => quizItemCount(q),
  myAttempts: (q, _a, ctx) => myAttempts(ctx.db, ctx, q.lessonId, ctx.now),
  myGrade: async (q, _a, ctx) => {
    const viewer = requireViewer(ctx);
    const grade = await ctx.db.grade.findUnique({
      where: { userId_lessonId: { userId: viewer.userId, lessonId: q.lessonId } },
    });
    return grade && { lessonId: grade.lessonId, grade: grade.grade, attempts: grade.attempts, passed: grade.passed };
  },
  statistics: (q, _a, ctx) => managerOnly(ctx, q.courseId, () => quizStatistics(ctx.db, ctx, q)),
};

export const QuizGrade: QuizGradeResolvers = {
  lesson: (g) => ({ id: g.lessonId }),
};

export const CourseGrade: CourseGradeResolvers = {
  learner: (g) => ({ id: g.userId }),
  course: (g) => ({ id: g.courseId }),
};

export const ItemStatistic: ItemStatisticResolvers = {};

export const Attempt: AttemptResolvers = {
  __resolveReference: async (ref, ctx) => {
    try {
      return await ownAttempt(ctx.db, ctx, ref.id);
    } catch {
      return null;
    }
  },
  lesson: (a) => ({ id: a.lessonId }),
  items: async (a, _args, ctx) => {
    const viewer = requireViewer(ctx);
    const lesson = await ctx.db.courseLesson.findUnique({ where: { id: a.lessonId } });
    await requireStudyAccess(ctx.db, viewer, a.courseId, await ctx.loaders.studyable.load(viewer.userId), lesson);
    return attemptItemViews(ctx.db, a);
  },
};

export const Concept: ConceptResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.concept.load(ref.id),
  prerequisites: async (c, _a, ctx) => conceptsById(ctx, await ctx.loaders.prerequisites.load(c.id)),
  myMastery: async (c, _a, ctx) => {
    if (!ctx.viewer) return null;
    return ctx.db.mastery.findUnique({ where: { userId_conceptId: { userId: ctx.viewer.userId, conceptId: c.id } } });
  },
};

export const ConceptMastery: ConceptMasteryResolvers = {
  concept: async (m, _a, ctx) => (await ctx.loaders.concept.load(m.conceptId))!,
};

export const Note: NoteResolvers = {
  concepts: (n, _a, ctx) => conceptsById(ctx, n.conceptIds),
};

export const Activity: ActivityResolvers = {};

export const Card: CardResolvers = {
  __resolveReference: async (ref, ctx) => {
    try {
      return await ownCard(ctx.db, ctx, ref.id);
    } catch {
      return null;
    }
  },
  course: (c) => ({ id: c.courseId }),
  front: async (c, _a, ctx) => (await faces(ctx, c)).front,
  back: async (c, _a, ctx) => (await faces(ctx, c)).back,
  retrievability: async (c, _a, ctx) => {
    const settings = (await ctx.loaders.settings.load(c.userId)) ?? { params: [], ...DEFAULT_SETTINGS };
    return schedulerFor(settings).retrievability(cardState(c), ctx.now);
  },
};

/** A card's question and answer: the course's material, so only while the learner may study it. */
async function faces(ctx: Context, card: { courseId: string; source: string; sourceId: string; ordinal: number }) {
  const viewer = requireViewer(ctx);
  await requireStudyAccess(ctx.db, viewer, card.courseId, await ctx.loaders.studyable.load(viewer.userId));
  if (card.source === 'ITEM') {
    const item = await ctx.loaders.latestItem.load(card.sourceId);
    return item ? itemCardFaces(item.content as unknown as ItemContent) : { front: '', back: '' };
  }
  const note = await ctx.loaders.latestNote.load(card.sourceId);
  return note ? noteCardFaces(note, card.ordinal) : { front: '', back: '' };
}

export const Lesson: LessonResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  quiz: (l, _a, ctx) => publishedQuizOf(ctx.db, l.id),
  concepts: async (l, _a, ctx) => conceptsById(ctx, await ctx.loaders.lessonConcepts.load(l.id)),
};

export const Course: CourseResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  itemBank: (c, { first, after }, ctx) => managerOnly(ctx, c.id, () => itemBank(ctx.db, c.id, { first, after })),
  quizDrafts: (c, _a, ctx) =>
    managerOnly(ctx, c.id, () => ctx.db.quiz.findMany({ where: { courseId: c.id }, orderBy: { lessonId: 'asc' } })),
  notes: (c, _a, ctx) =>
    managerOnly(ctx, c.id, () =>
      ctx.db.note.findMany({ where: { courseId: c.id, deletedAt: null }, orderBy: { createdAt: 'asc' } }),
    ),
  concepts: async (c, _a, ctx) => {
    const [concepts, edges] = await Promise.all([
      ctx.db.concept.findMany({ where: { courseId: c.id }, orderBy: { createdAt: 'asc' } }),
      ctx.db.conceptEdge.findMany({ where: { courseId: c.id } }),
    ]);
    const order = topologicalOrder(
      concepts.map((x) => x.id),
      edges.map((e) => ({ from: e.prerequisiteId, to: e.conceptId })),
    );
    const byId = new Map(concepts.map((x) => [x.id, x]));
    return order.map((id) => byId.get(id)!);
  },
  myMastery: (c, _a, ctx) => myMastery(ctx.db, ctx, c.id),
  nextBestActivity: async (c, _a, ctx) => {
    if (!ctx.viewer) return null;
    const a = await nextActivity(ctx.db, ctx, c.id, ctx.now);
    switch (a.kind) {
      case 'REVIEW_CARDS':
        return { kind: a.kind, dueCards: a.dueCount, reason: `${a.dueCount} cards are due for review.` };
      case 'NONE':
        return { kind: a.kind, reason: a.reason };
      default:
        return {
          kind: a.kind,
          lesson: { id: a.lessonId },
          concept: a.conceptId ? await ctx.loaders.concept.load(a.conceptId) : null,
          reason: a.reason,
        };
    }
  },
  myGrades: (c, _a, ctx) => (ctx.viewer ? myCourseGrades(ctx.db, ctx, c.id) : null),
  gradebook: (c, args, ctx) => managerOnly(ctx, c.id, () => gradebook(ctx.db, ctx, c.id, args)),
};

export const User: UserResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  reviewSettings: (u, _a, ctx) => {
    requireSelfOrAdmin(ctx, u.id);
    return reviewSettingsView(ctx.db, u.id);
  },
};
