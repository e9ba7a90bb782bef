/**
 * The Socratic tutor: one conversation per learner and lesson. `askTutor` checks the message and the
 * learner's access, records the message and an empty reply (STREAMING), and returns at once; the
 * reply is written in the background: hybrid retrieval over the lessons the learner may read, the
 * learner's open graded attempts (whose answers the reply must not state), the routed model, and
 * each checked sentence published as `ai.tutor.reply` (the gateway's tutorReply subscription) and
 * appended to the stored turn. A message sent again with the same clientTurnId gets the same turn:
 * answered once, charged once.
 */
import { AiEvents } from '@coursegraph/contracts';
import {
  appError,
  badInput,
  conflict,
  ErrorCode,
  enqueueEvent,
  isUniqueViolation,
  newId,
  requireViewer,
  type AuthContext,
  type Flags,
  type Logger,
} from '@coursegraph/service-kit';
import type { TutorTurn } from '../generated/prisma/client.js';
import type { PrismaClient } from '../data/db.js';
import type { RetrievalIndex } from '../data/retrieval-index.js';
import type { ChatMessage, SourcePassage } from '../providers/provider.js';
import { publishedLesson, requireTutorAccess, type PublishedLesson } from './access.js';
import type { ModelRouter } from './model-router.js';
import { estimateDifficulty } from './routing/difficulty.js';
import { nextHintsGiven, type TutorTask } from './tutor/deterministic.js';
import { classifyLearnerMessage } from './tutor/intent.js';
import { findAnswerLeaks } from './tutor/leak.js';
import { buildTutorPrompt, TUTOR_HISTORY_MESSAGES } from './tutor/prompts.js';

const CONTEXT = 'ai';
const CLIENT_TURN_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Passages the reply is grounded in. */
const CONTEXT_PASSAGES = 5;
/** How far back failed quiz attempts count as the learner struggling (routing's "stuck"). */
const RECENT_FAILURES_MS = 14 * 86_400_000;
/** Room for the reply: the prompt asks for about 120 words. */
const REPLY_MAX_TOKENS = 400;

export interface TutorDeps {
  db: PrismaClient;
  router: ModelRouter;
  retrieval: RetrievalIndex;
  logger: Logger;
  maxMessageChars: number;
  /** The platform's flags: the flag TUTOR_FLAG switches the tutor off. Absent: the tutor is always on. */
  flags?: Pick<Flags, 'isOn'>;
}

/** The tutor's kill switch (flags context; shipped on by prisma/flags' first migration). */
export const TUTOR_FLAG = 'tutor';

/** What askTutor answers while the tutor is switched off. Nothing is written. */
export const tutorSwitchedOff = () =>
  appError(ErrorCode.SUBGRAPH_UNAVAILABLE, 'The tutor is switched off for now; try again later.', {
    subgraph: 'ai',
    reason: 'FEATURE_DISABLED',
    flag: TUTOR_FLAG,
  });

export interface AskTutorInput {
  lessonId: string;
  message: string;
  clientTurnId?: string | null;
}

export interface AskContext extends AuthContext {
  requestId?: string;
  traceparent?: string;
}

export function createTutor(deps: TutorDeps) {
  const { db, router, retrieval, logger } = deps;
  const inFlight = new Set<Promise<void>>();

  function checkInput(input: AskTutorInput): { message: string; clientTurnId: string | null } {
    if (typeof input.message !== 'string') throw badInput('message must be text.', 'message');
    const message = input.message.trim();
    if (message === '') throw badInput('message is empty: ask the tutor something.', 'message');
    if ([...message].length > deps.maxMessageChars)
      throw badInput(`message is longer than ${deps.maxMessageChars} characters.`, 'message');
    const clientTurnId = input.clientTurnId ?? null;
    if (clientTurnId !== null && !CLIENT_TURN_ID.test(clientTurnId))
      throw badInput('clientTurnId must be 1..64 letters, digits, _ or -.', 'clientTurnId');
    return { message, clientTurnId };
  }

  /** The tutor turn a client's idempotency key already produced, if any (it must be this lesson's). */
  async function replayed(userId: string, clientTurnId: string, lessonId: string): Promise<TutorTurn | null> {
    const turn = await db.tutorTurn.findUnique({ where: { userId_clientTurnId: { userId, clientTurnId } } });
    if (!turn) return null;
    const conversation = await db.conversation.findUnique({ where: { id: turn.conversationId } });
    if (conversation?.lessonId !== lessonId)
      throw conflict('This clientTurnId was already used for a message to another lesson.', 'clientTurnId');
    return turn;
  }

  async function ask(ctx: AskContext, input: AskTutorInput, now: Date): Promise<TutorTurn> {
    const viewer = requireViewer(ctx);
    const { message, clientTurnId } = checkInput(input);
    const found = await publishedLesson(db, input.lessonId);
    // Evaluated in memory; an unknown flag or flags never loaded leave the tutor on (the code's default).
    const on = await deps.flags?.isOn(TUTOR_FLAG, true, {
      targetingKey: viewer.userId,
      role: viewer.role,
      courseId: found.course.id,
    });
    if (on === false) throw tutorSwitchedOff();
    const readable = await requireTutorAccess(db, viewer, found);
    if (clientTurnId) {
      const earlier = await replayed(viewer.userId, clientTurnId, found.lesson.id);
      if (earlier) return earlier;
    }
    let created: { conversationId: string; reply: TutorTurn; hintsGiven: number; history: ChatMessage[] };
    try {
      created = await db.$transaction(async (tx) => {
        const conversation = await tx.conversation.upsert({
          where: { userId_lessonId: { userId: viewer.userId, lessonId: found.lesson.id } },
          create: { id: newId(), userId: viewer.userId, courseId: found.course.id, lessonId: found.lesson.id },
          update: {},
        });
        const earlier = await tx.tutorTurn.findMany({
          where: { conversationId: conversation.id, status: { not: 'FAILED' } },
          orderBy: { createdAt: 'desc' },
          take: TUTOR_HISTORY_MESSAGES,
        });
        await tx.tutorTurn.create({
          data: {
            id: newId(),
            userId: viewer.userId,
            conversationId: conversation.id,
            role: 'LEARNER',
            text: message,
            createdAt: now,
          },
        });
        const reply = await tx.tutorTurn.create({
          data: {
            id: newId(),
            userId: viewer.userId,
            conversationId: conversation.id,
            role: 'TUTOR',
            text: '',
            status: 'STREAMING',
            clientTurnId,
            // One millisecond after the learner's turn, so the two sort in order.
            createdAt: new Date(now.getTime() + 1),
          },
        });
        const history = earlier
          .reverse()
          .map((t): ChatMessage => ({ role: t.role === 'LEARNER' ? 'user' : 'assistant', content: t.text }));
        return { conversationId: conversation.id, reply, hintsGiven: conversation.hintsGiven, history };
      });
    } catch (err) {
      // The same clientTurnId twice at once: the other request created the turn.
      if (clientTurnId && isUniqueViolation(err)) {
        const earlier = await replayed(viewer.userId, clientTurnId, found.lesson.id);
        if (earlier) return earlier;
      }
      throw err;
    }
    const writing = writeReply({
      found,
      readable,
      userId: viewer.userId,
      message,
      now,
      requestId: ctx.requestId ?? null,
      traceparent: ctx.traceparent,
      ...created,
    })
      .catch(async (err: unknown) => {
        logger.error({ err, turnId: created.reply.id }, 'tutor reply failed');
        await failTurn(created.reply.id).catch(() => undefined);
      })
      .finally(() => inFlight.delete(writing));
    inFlight.add(writing);
    return created.reply;
  }

  async function failTurn(turnId: string): Promise<void> {
    await db.tutorTurn.updateMany({ where: { id: turnId, status: 'STREAMING' }, data: { status: 'FAILED' } });
  }

  async function protectedAnswersOf(userId: string, courseId: string, now: Date): Promise<string[]> {
    const open = await db.openAttempt.findMany({
      where: { userId, courseId, closedAt: null, OR: [{ closesAt: null }, { closesAt: { gt: now } }] },
      select: { protectedAnswers: true },
    });
    return [...new Set(open.flatMap((a) => a.protectedAnswers))];
  }

  async function writeReply(r: {
    found: PublishedLesson;
    readable: ReadonlySet<string> | 'all';
    userId: string;
    message: string;
    now: Date;
    requestId: string | null;
    traceparent: string | undefined;
    conversationId: string;
    reply: TutorTurn;
    hintsGiven: number;
    history: ChatMessage[];
  }): Promise<void> {
    const { course, lesson } = r.found;
    const hits = await retrieval.search({
      courseId: course.id,
      lessonId: lesson.id,
      query: r.message,
      k: CONTEXT_PASSAGES,
      allowedLessonIds: r.readable,
    });
    const passages: SourcePassage[] = hits.map((h) => h.passage);
    const protectedAnswers = await protectedAnswersOf(r.userId, course.id, r.now);
    const recentFailures = await db.quizFailure.count({
      where: {
        userId: r.userId,
        courseId: course.id,
        failedAt: { gt: new Date(r.now.getTime() - RECENT_FAILURES_MS) },
      },
    });
    const task: TutorTask = {
      kind: 'TUTOR',
      lessonTitle: lesson.title,
      subject: course.subject || course.title,
      passages,
      history: r.history,
      learnerMessage: r.message,
      hintsGiven: r.hintsGiven,
      protectedAnswers,
    };
    const { intent } = classifyLearnerMessage(r.message, {
      subject: task.subject,
      passages,
      lessonTitle: lesson.title,
    });
    const prompt = buildTutorPrompt(task);
    const base = {
      conversationId: r.conversationId,
      turnId: r.reply.id,
      userId: r.userId,
      courseId: course.id,
      lessonId: lesson.id,
    };
    let seq = 0;
    const options = r.traceparent ? { traceparent: r.traceparent } : {};
    const emit = async (text: string) => {
      await db.$transaction(async (tx) => {
        await enqueueEvent(tx, CONTEXT, AiEvents.tutorReply, { ...base, seq: seq++, text, done: false }, options);
        await tx.$executeRaw`update tutor_turns set text = text || ${text} where id = ${r.reply.id}::uuid`;
      });
    };
    const answer = await router.stream(
      {
        callId: r.reply.id,
        userId: r.userId,
        budget: 'LEARNER',
        courseId: course.id,
        requestId: r.requestId,
        task,
        routing: {
          task: 'TUTOR',
          difficulty: estimateDifficulty(r.message, { hintsGiven: r.hintsGiven, recentFailures }),
          // No context announces misconceptions yet (learning's items carry none): never flagged.
          learner: { hintsGiven: r.hintsGiven, recentFailures, misconceptionFlagged: false },
        },
        prompt: { ...prompt, maxTokens: REPLY_MAX_TOKENS },
        validate: (text) => (findAnswerLeaks(text, protectedAnswers).length > 0 ? 'states a protected answer' : null),
        now: r.now,
      },
      emit,
    );
    await db.$transaction(async (tx) => {
      await tx.tutorTurn.update({
        where: { id: r.reply.id },
        data: {
          text: answer.text,
          status: 'DONE',
          intent,
          tier: answer.tier,
          fallbackReason: answer.fallbackReason,
          citations: passages.map((p) => p.id),
        },
      });
      await tx.conversation.update({
        where: { id: r.conversationId },
        data: { hintsGiven: nextHintsGiven(intent, r.hintsGiven) },
      });
      await enqueueEvent(
        tx,
        CONTEXT,
        AiEvents.tutorReply,
        { ...base, seq, text: '', done: true, tier: answer.tier, fallbackReason: answer.fallbackReason ?? '' },
        options,
      );
    });
  }

  return {
    ask,
    /** Waits for the replies being written (a stopping service finishes them). */
    async drain(): Promise<void> {
      await Promise.allSettled([...inFlight]);
    },
    /** Replies left STREAMING by a process that stopped mid-reply are marked FAILED at start. */
    async failAbandoned(olderThan: Date): Promise<number> {
      const { count } = await db.tutorTurn.updateMany({
        where: { status: 'STREAMING', createdAt: { lt: olderThan } },
        data: { status: 'FAILED' },
      });
      return count;
    },
  };
}

export type Tutor = ReturnType<typeof createTutor>;
