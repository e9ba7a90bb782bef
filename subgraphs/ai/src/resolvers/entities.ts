/** AI's own types and the fields it adds to other contexts' entities (Lesson, User). */
import { forbidden, requireViewer } from '@coursegraph/service-kit';
import type {
  GeneratedItemResolvers,
  GenerationRunResolvers,
  LessonResolvers,
  TutorConversationResolvers,
  TutorTurnResolvers,
  UserResolvers,
} from '../generated/resolvers-types.js';
import type { GeneratedItem as GeneratedItemRow } from '../generated/prisma/client.js';
import { BudgetUnavailableError } from '../domain/routing/budget.js';
import { canManage } from '../domain/access.js';
import type { MaterialCandidate } from '../domain/material/candidate.js';
import type { Rejection } from '../domain/generation.js';

const MODEL_TIERS = new Set(['CHEAP', 'MID', 'TOP', 'DETERMINISTIC']);
const tierOf = (tier: string | null) =>
  tier && MODEL_TIERS.has(tier) ? (tier as 'CHEAP' | 'MID' | 'TOP' | 'DETERMINISTIC') : null;

export const Lesson: LessonResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  // Only the signed-in learner's own conversation: nobody else's is reachable from here.
  tutorConversation: async (lesson, _a, ctx) => {
    if (!ctx.viewer) return null;
    return ctx.db.conversation.findUnique({
      where: { userId_lessonId: { userId: ctx.viewer.userId, lessonId: lesson.id } },
    });
  },
  generatedMaterial: async (lesson, { status }, ctx) => {
    if (!ctx.viewer) return null;
    const row = await ctx.db.courseLesson.findUnique({ where: { id: lesson.id } });
    const course = row && (await ctx.db.course.findUnique({ where: { id: row.courseId } }));
    if (!course || !canManage(ctx.viewer, course)) return null;
    return ctx.db.generatedItem.findMany({
      where: { lessonId: lesson.id, ...(status ? { status } : {}) },
      orderBy: { createdAt: 'desc' },
      take: 200,
    });
  },
};

export const User: UserResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  aiUsage: async (user, _a, ctx) => {
    const viewer = ctx.viewer;
    if (!viewer || (viewer.userId !== user.id && viewer.role !== 'ADMIN')) return null;
    try {
      const spent = await ctx.ai.budgets.spent(user.id, new Date());
      return {
        spentTodayUsd: spent.userMicroUsd / 1_000_000,
        dailyBudgetUsd: spent.userLimitMicroUsd / 1_000_000,
        overBudget: spent.userMicroUsd >= spent.userLimitMicroUsd,
      };
    } catch (err) {
      if (err instanceof BudgetUnavailableError) return null;
      throw err;
    }
  },
};

export const TutorConversation: TutorConversationResolvers = {
  turns: async (conversation, { last }, ctx) => {
    const viewer = requireViewer(ctx);
    if (viewer.userId !== conversation.userId) throw forbidden('This conversation is not yours.');
    const take = Math.max(1, Math.min(last ?? 50, 200));
    const rows = await ctx.db.tutorTurn.findMany({
      where: { conversationId: conversation.id },
      orderBy: { createdAt: 'desc' },
      take,
    });
    return rows.reverse();
  },
};

export const TutorTurn: TutorTurnResolvers = {
  role: (turn) => (turn.role === 'LEARNER' ? 'LEARNER' : 'TUTOR'),
  status: (turn) => (turn.status === 'STREAMING' ? 'STREAMING' : turn.status === 'FAILED' ? 'FAILED' : 'DONE'),
  tier: (turn) => tierOf(turn.tier),
  citations: async (turn, _a, ctx) => {
    if (turn.citations.length === 0) return [];
    const rows = await ctx.db.passage.findMany({ where: { id: { in: turn.citations } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return turn.citations.flatMap((id) => {
      const r = byId.get(id);
      return r
        ? [
            {
              passageId: r.id,
              lessonId: r.lessonId,
              source: r.source === 'CAPTION' ? ('CAPTION' as const) : ('LESSON' as const),
              text: r.text,
              startsAtSeconds: r.startsAtSeconds,
            },
          ]
        : [];
    });
  },
};

const content = (item: GeneratedItemRow) => item.content as unknown as MaterialCandidate;
const field = <K extends string>(item: GeneratedItemRow, key: K): unknown =>
  (content(item) as unknown as Record<string, unknown>)[key];

export const GeneratedItem: GeneratedItemResolvers = {
  kind: (item) => (item.kind === 'QUIZ_ITEM' ? 'QUIZ_ITEM' : 'FLASHCARD'),
  cardKind: (item) => (item.kind === 'FLASHCARD' ? (field(item, 'kind') as string) : null),
  front: (item) => (field(item, 'front') as string | undefined) ?? null,
  back: (item) => (field(item, 'back') as string | undefined) ?? null,
  clozeText: (item) => (field(item, 'kind') === 'CLOZE' ? (field(item, 'text') as string) : null),
  prompt: (item) => (field(item, 'prompt') as string | undefined) ?? null,
  choices: (item) => (field(item, 'choices') as string[] | undefined) ?? null,
  correctIndex: (item) => (field(item, 'correctIndex') as number | undefined) ?? null,
  status: (item) =>
    item.status === 'APPROVED' ? 'APPROVED' : item.status === 'REJECTED' ? 'REJECTED' : 'PENDING_REVIEW',
  tier: (item) => tierOf(item.tier) ?? 'DETERMINISTIC',
};

export const GenerationRun: GenerationRunResolvers = {
  rejections: (run) =>
    (run.rejections as unknown as Rejection[]).map((r) => ({ kind: r.kind, summary: r.summary, reasons: r.reasons })),
  costUsd: (run) => Number(run.costMicroUsd) / 1_000_000,
  items: (run, _a, ctx) => ctx.db.generatedItem.findMany({ where: { runId: run.id }, orderBy: { createdAt: 'asc' } }),
};
