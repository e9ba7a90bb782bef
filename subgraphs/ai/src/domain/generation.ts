/**
 * Generated study material: flashcards and quiz items from a lesson's text, on an instructor's
 * request or when a publication changes the text. Every candidate is validated before anyone sees
 * it (its schema, its answer in the quoted sentence of the cited passage, one fact per card, no
 * duplicate of the course's material); a model whose output has no valid candidate hands the task to
 * the next tier. What passes waits for the course's instructor: approved items go to learning's
 * drafts through `ai.material.approved`, and reach learners with the course's next publication.
 *
 * The same text is generated once: a run claims (lesson, text hash) before any model is called, so
 * a second request, at once or later, gets that run and is charged nothing.
 */
import { AiEvents, ai as pb } from '@coursegraph/contracts';
import {
  badInput,
  conflict,
  enqueueEvent,
  isUniqueViolation,
  newId,
  notFound,
  type Logger,
  type Viewer,
} from '@coursegraph/service-kit';
import type { GeneratedItem, GenerationRun, Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from '../data/db.js';
import type { SourcePassage } from '../providers/provider.js';
import { managedLesson, publishedLesson, requireId } from './access.js';
import type { ModelRouter } from './model-router.js';
import { estimateDifficulty } from './routing/difficulty.js';
import type { FlashcardTask, MaterialCandidate, QuizTask } from './material/candidate.js';
import { definitionMeanings } from './material/deterministic.js';
import { parseMaterial } from './material/parse.js';
import { materialMaxTokens, materialPrompt } from './material/prompts.js';
import { fingerprint } from './material/rules.js';
import { approvedInput } from './material/to-learning.js';
import { validateMaterial, type RejectedCandidate } from './material/validate.js';

const CONTEXT = 'ai';
/** Cards and items asked for per lesson and task. */
export const MATERIAL_WANTED = { FLASHCARD_EXTRACTION: 8, QUIZ_GENERATION: 5 } as const;

export interface GenerationDeps {
  db: PrismaClient;
  router: ModelRouter;
  logger: Logger;
}

export interface GenerateRequest {
  lessonId: string;
  trigger: 'REQUEST' | 'PUBLICATION';
  requestedBy: string;
  requestId: string | null;
  now: Date;
}

/** A refused candidate as instructors see it. */
export interface Rejection {
  kind: 'FLASHCARD' | 'QUIZ_ITEM';
  summary: string;
  reasons: string[];
}

const kindOf = (c: MaterialCandidate): 'FLASHCARD' | 'QUIZ_ITEM' => ('type' in c ? 'QUIZ_ITEM' : 'FLASHCARD');

function summaryOf(candidate: unknown): string {
  if (candidate && typeof candidate === 'object') {
    const c = candidate as Record<string, unknown>;
    for (const field of ['prompt', 'front', 'text'])
      if (typeof c[field] === 'string') return (c[field] as string).slice(0, 200);
  }
  return JSON.stringify(candidate ?? null).slice(0, 200);
}

export function createGenerator({ db, router, logger }: GenerationDeps) {
  /** The course's material so far (not rejected), for the duplicate check. */
  async function existingMaterial(courseId: string): Promise<MaterialCandidate[]> {
    const rows = await db.generatedItem.findMany({
      where: { courseId, status: { not: 'REJECTED' } },
      select: { content: true },
    });
    return rows.map((r) => r.content as unknown as MaterialCandidate);
  }

  async function runTask(
    run: GenerationRun,
    task: FlashcardTask | QuizTask,
    request: GenerateRequest,
    existing: MaterialCandidate[],
  ) {
    const validation = { passages: task.passages, existing };
    const check = (text: string): string | null => {
      const parsed = parseMaterial(text, task.kind);
      if (!parsed.ok) return parsed.error.message;
      // An empty list is an answer (the lesson defines nothing to ask about), not a failure to escalate.
      if (parsed.candidates.length === 0) return null;
      return validateMaterial(parsed.candidates, validation).accepted.length === 0
        ? 'no candidate passed validation'
        : null;
    };
    const answer = await router.complete({
      callId: `${run.id}:${task.kind}`,
      userId: request.requestedBy,
      budget: 'COURSE',
      courseId: run.courseId,
      requestId: request.requestId,
      task,
      routing: { task: task.kind, difficulty: estimateDifficulty(task.passages.map((p) => p.text).join('\n\n')) },
      prompt: { ...materialPrompt(task), maxTokens: materialMaxTokens(task) },
      validate: check,
      now: request.now,
    });
    const parsed = parseMaterial(answer.text, task.kind);
    if (!parsed.ok)
      return {
        answer,
        candidates: 0,
        accepted: [] as MaterialCandidate[],
        rejected: [{ index: 0, candidate: null, reasons: [parsed.error.message], codes: [] }] as RejectedCandidate[],
      };
    const result = validateMaterial(parsed.candidates, validation);
    return { answer, candidates: parsed.candidates.length, ...result };
  }

  async function generate(request: GenerateRequest): Promise<GenerationRun> {
    const { lesson, course } = await publishedLesson(db, request.lessonId);
    if (lesson.textHash === '') throw badInput('This lesson has no text to generate material from.', 'lessonId');
    const done = await db.generationRun.findUnique({
      where: { lessonId_sourceHash: { lessonId: lesson.id, sourceHash: lesson.textHash } },
    });
    if (done) return done;
    let run: GenerationRun;
    try {
      run = await db.generationRun.create({
        data: {
          id: newId(),
          courseId: course.id,
          lessonId: lesson.id,
          trigger: request.trigger,
          requestedBy: request.requestedBy,
          sourceHash: lesson.textHash,
          candidates: 0,
          accepted: 0,
          rejections: [],
          costMicroUsd: 0n,
        },
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Another request claimed this text a moment ago: that run is the answer.
      return db.generationRun.findUniqueOrThrow({
        where: { lessonId_sourceHash: { lessonId: lesson.id, sourceHash: lesson.textHash } },
      });
    }
    try {
      const rows = await db.passage.findMany({
        where: { lessonId: lesson.id, source: 'LESSON' },
        orderBy: { ordinal: 'asc' },
      });
      const passages: SourcePassage[] = rows.map((r) => ({
        id: r.id,
        lessonId: r.lessonId,
        source: 'LESSON',
        text: r.text,
      }));
      const existing = await existingMaterial(course.id);
      // Other lessons' definitions make plausible wrong choices for this lesson's quiz items.
      const elsewhere = await db.passage.findMany({
        where: { courseId: course.id, source: 'LESSON', lessonId: { not: lesson.id } },
        orderBy: [{ lessonId: 'asc' }, { ordinal: 'asc' }],
        take: 200,
      });
      const distractorPool = definitionMeanings(
        elsewhere.map((r) => ({ id: r.id, lessonId: r.lessonId, source: 'LESSON' as const, text: r.text })),
      );
      const accepted: { candidate: MaterialCandidate; tier: string }[] = [];
      const rejections: Rejection[] = [];
      let candidates = 0;
      let cost = 0;
      const tasks: (FlashcardTask | QuizTask)[] = [
        {
          kind: 'FLASHCARD_EXTRACTION',
          lessonTitle: lesson.title,
          passages,
          max: MATERIAL_WANTED.FLASHCARD_EXTRACTION,
        },
        {
          kind: 'QUIZ_GENERATION',
          lessonTitle: lesson.title,
          passages,
          max: MATERIAL_WANTED.QUIZ_GENERATION,
          distractorPool,
        },
      ];
      for (const task of tasks) {
        const result = await runTask(run, task, request, [...existing, ...accepted.map((a) => a.candidate)]);
        candidates += result.candidates;
        cost += result.answer.costMicroUsd;
        for (const candidate of result.accepted) accepted.push({ candidate, tier: result.answer.tier });
        for (const r of result.rejected)
          rejections.push({
            kind: task.kind === 'FLASHCARD_EXTRACTION' ? 'FLASHCARD' : 'QUIZ_ITEM',
            summary: summaryOf(r.candidate),
            reasons: r.reasons,
          });
      }
      const passageOf = (c: MaterialCandidate) => (c as { passageId: string }).passageId;
      return await db.$transaction(async (tx) => {
        await tx.generatedItem.createMany({
          data: accepted.map(({ candidate, tier }) => ({
            id: newId(),
            runId: run.id,
            courseId: course.id,
            lessonId: lesson.id,
            kind: kindOf(candidate),
            content: candidate as unknown as Prisma.InputJsonValue,
            passageId: passageOf(candidate),
            quote: (candidate as { quote: string }).quote,
            fingerprint: fingerprint(candidate),
            tier,
          })),
          // The course already holds this item (another lesson's run made it): keep one.
          skipDuplicates: true,
        });
        return tx.generationRun.update({
          where: { id: run.id },
          data: {
            status: 'DONE',
            candidates,
            accepted: accepted.length,
            rejections: rejections as unknown as Prisma.InputJsonValue,
            costMicroUsd: BigInt(cost),
          },
        });
      });
    } catch (err) {
      // Give the text back, so a later request can try again.
      await db.generationRun.deleteMany({ where: { id: run.id, status: 'RUNNING' } }).catch(() => undefined);
      throw err;
    }
  }

  async function reviewable(viewer: Viewer, id: string): Promise<GeneratedItem> {
    requireId(id, 'id');
    const item = await db.generatedItem.findUnique({ where: { id } });
    if (!item) throw notFound('No such generated item.');
    await managedLesson(db, viewer, item.lessonId);
    return item;
  }

  return {
    /** On an instructor's request: only the course's instructor or an admin. */
    async request(viewer: Viewer, lessonId: string, requestId: string | null, now: Date): Promise<GenerationRun> {
      await managedLesson(db, viewer, lessonId);
      return generate({ lessonId, trigger: 'REQUEST', requestedBy: viewer.userId, requestId, now });
    },

    /**
     * Lessons of published courses whose text no run has covered yet, generated for their
     * instructors (a publication's trigger). Returns how many runs it made.
     */
    async generatePublished(limit: number, now: Date): Promise<number> {
      const pending = await db.$queryRaw<{ id: string; instructor_id: string }[]>`
        select l.id, c.instructor_id
          from course_lessons l join courses c on c.id = l.course_id
         where l.text_hash <> '' and c.published_version > 0
           and not exists (select 1 from generation_runs r where r.lesson_id = l.id and r.source_hash = l.text_hash)
         order by l.course_id, l.position
         limit ${limit}`;
      let made = 0;
      for (const lesson of pending) {
        try {
          await generate({
            lessonId: lesson.id,
            trigger: 'PUBLICATION',
            requestedBy: lesson.instructor_id,
            requestId: null,
            now,
          });
          made++;
        } catch (err) {
          logger.warn({ err, lessonId: lesson.id }, 'generation at publication failed; retried at the next scan');
        }
      }
      return made;
    },

    /**
     * Releases runs left RUNNING longer than any generation takes (a process stopped mid-run), so
     * their lesson's text can be generated again. Returns how many.
     */
    async releaseStaleRuns(olderThan: Date): Promise<number> {
      const { count } = await db.generationRun.deleteMany({
        where: { status: 'RUNNING', createdAt: { lt: olderThan } },
      });
      return count;
    },

    /** Approves a pending item: it goes to learning's drafts (ai.material.approved) in the same transaction. */
    async approve(viewer: Viewer, id: string, now: Date, traceparent?: string): Promise<GeneratedItem> {
      const item = await reviewable(viewer, id);
      if (item.status === 'APPROVED') return item;
      if (item.status === 'REJECTED')
        throw conflict('This item was rejected; generate the lesson again for new material.');
      const candidate = item.content as unknown as MaterialCandidate;
      const kind = 'type' in candidate ? pb.MaterialKind.QUIZ_ITEM : pb.MaterialKind.FLASHCARD;
      return db.$transaction(async (tx) => {
        const updated = await tx.generatedItem.updateMany({
          where: { id, status: 'PENDING_REVIEW' },
          data: { status: 'APPROVED', reviewedBy: viewer.userId, reviewedAt: now },
        });
        // Approved at the same moment by someone else: their approval sent the event.
        if (updated.count === 1)
          await enqueueEvent(
            tx,
            CONTEXT,
            AiEvents.materialApproved,
            {
              itemId: item.id,
              courseId: item.courseId,
              lessonId: item.lessonId,
              kind,
              inputJson: JSON.stringify(approvedInput(candidate)),
              sourcePassageId: item.passageId,
              sourceQuote: item.quote,
              approvedBy: viewer.userId,
              approvedAt: now.toISOString(),
            },
            traceparent ? { traceparent } : {},
          );
        return tx.generatedItem.findUniqueOrThrow({ where: { id } });
      });
    },

    async reject(viewer: Viewer, id: string, now: Date): Promise<GeneratedItem> {
      const item = await reviewable(viewer, id);
      if (item.status === 'REJECTED') return item;
      if (item.status === 'APPROVED')
        throw conflict('This item was approved already: delete its draft in the item bank instead.');
      await db.generatedItem.updateMany({
        where: { id, status: 'PENDING_REVIEW' },
        data: { status: 'REJECTED', reviewedBy: viewer.userId, reviewedAt: now },
      });
      return db.generatedItem.findUniqueOrThrow({ where: { id } });
    },
  };
}

export type Generator = ReturnType<typeof createGenerator>;
