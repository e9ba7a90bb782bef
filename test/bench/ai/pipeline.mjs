// The ai context's real pipeline in-process, over a scratch database (ai's schema migrated) and Redis
// budgets under a key prefix of the run's own: the projection seeded with the demo courses (one per
// subject, its twelve lessons cut into passages as the course projection cuts them), then
//   generate  every lesson's flashcards and quiz items with the deterministic provider (the
//             generator's publication scan), read back from generation_runs and model_calls;
//   sample    a sample of the simulated month through createTutor / createGenerator and the model
//             router with the Anthropic adapter pointed at a local Messages API server, then the
//             cost report from the recorded calls (costReport, as admins read it).
import { createHash, randomUUID } from 'node:crypto';
import { contextDatabaseUrl } from '../../../scripts/lib/env.mjs';
import { bootstrap, deploy } from '../../../scripts/prisma.mjs';
import { dropDatabase } from '../lib/platform.mjs';
import { createLogger, createRedis, seededRandom } from '@coursegraph/service-kit';
import { startMessagesApiServer, TEST_API_KEY } from '@coursegraph/test-support';
import { createDb } from '../../../subgraphs/ai/dist/data/db.js';
import { costReport } from '../../../subgraphs/ai/dist/data/model-calls.js';
import { replaceLessonPassages } from '../../../subgraphs/ai/dist/data/passages.js';
import { createRetrievalIndex } from '../../../subgraphs/ai/dist/data/retrieval-index.js';
import { createGenerator } from '../../../subgraphs/ai/dist/domain/generation.js';
import { createModelRouter } from '../../../subgraphs/ai/dist/domain/model-router.js';
import { createHashedEmbedding } from '../../../subgraphs/ai/dist/domain/retrieval/hashed-embedding.js';
import { createBudgets } from '../../../subgraphs/ai/dist/domain/routing/budget.js';
import { DEFAULT_TIERS, costMicroUsd } from '../../../subgraphs/ai/dist/domain/routing/tiers.js';
import { drawThreadState } from '../../../subgraphs/ai/dist/domain/routing/usage-mix.js';
import { createTutor } from '../../../subgraphs/ai/dist/domain/tutoring.js';
import { textHash } from '../../../subgraphs/ai/dist/events/course-projection.js';
import { createAnthropicProvider } from '../../../subgraphs/ai/dist/providers/anthropic.js';
import { createDeterministicProvider } from '../../../subgraphs/ai/dist/providers/deterministic.js';
import { estimateTokens } from '../../../subgraphs/ai/dist/providers/provider.js';
import { learnerMessages } from './messages.mjs';

/** A UUID derived from a name, so a run's ids (and so its passages and answers) repeat. */
export const idFor = (name) => {
  const h = createHash('sha256').update(`bench-ai:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** Knuth's method; the means are small. */
function poisson(random, mean) {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

const learnerCtx = (userId, role = 'LEARNER') => ({
  viewer: { userId, role, sessionId: 'bench-ai', issuedAtMs: 0 },
  requestId: randomUUID(),
});

/** The key a Messages API request is answered by: what the model reads. */
const promptKey = (system, messages) =>
  createHash('sha256')
    .update(JSON.stringify([system, messages.map((m) => [m.role, m.content])]))
    .digest('hex');
const blocksText = (content) =>
  typeof content === 'string' ? content : content.map((block) => block.text ?? '').join('\n');

/**
 * The Anthropic adapter, unchanged, behind a tap that first tells the local server what a model would
 * answer to this prompt: the deterministic provider's answer to the same task (material in the JSON
 * the prompt asks for, a short Socratic reply for the tutor). So the request, the stream, the usage
 * the server counts and every check after it are the real path.
 */
function modelLikeProvider(anthropic, deterministic, answers) {
  const tell = async (request) => {
    const { text } = await deterministic.complete(request);
    answers.set(promptKey(request.system, request.messages), text);
  };
  return {
    name: 'anthropic',
    async complete(request) {
      await tell(request);
      return anthropic.complete(request);
    },
    async *stream(request) {
      await tell(request);
      yield* anthropic.stream(request);
    },
  };
}

export async function openPipeline({ database, redisUrl, lessons, log }) {
  await dropDatabase(database);
  await bootstrap({ database });
  deploy({ quiet: true, database });
  const db = createDb(contextDatabaseUrl('ai', database), 8);
  const redis = createRedis(redisUrl);
  const keyPrefix = `bench-ai:${randomUUID()}`;
  const logger = createLogger('bench-ai', 'error');
  const instructorId = idFor('instructor');

  for (const courseId of new Set(lessons.map((l) => l.courseId))) {
    const first = lessons.find((l) => l.courseId === courseId);
    await db.course.create({
      data: {
        id: courseId,
        instructorId,
        title: `${first.subject} (demo)`,
        subject: first.subject,
        free: false,
        publishedVersion: 1,
        passagesVersion: 1,
      },
    });
  }
  for (const lesson of lessons) {
    await db.courseLesson.create({
      data: {
        id: lesson.lessonId,
        courseId: lesson.courseId,
        version: 1,
        kind: 'ARTICLE',
        title: lesson.title,
        position: lesson.index,
        freePreview: lesson.index === 0,
        textHash: textHash(lesson.text),
      },
    });
    await replaceLessonPassages(db, lesson.lessonId, 'LESSON', lesson.passages);
  }
  log(`pipeline: ${lessons.length} lessons seeded in ${database}`);

  const deterministic = createDeterministicProvider();
  const runtime = (provider) => ({
    db,
    provider,
    deterministic,
    tiers: DEFAULT_TIERS,
    // The subgraph's defaults: $0.05 per learner and day, $50 for the platform; generated material
    // $1 per course and day, $20 for the platform.
    budgets: createBudgets(redis, { perUserDailyMicroUsd: 50_000, globalDailyMicroUsd: 50_000_000, keyPrefix }),
    courseBudgets: createBudgets(redis, {
      perUserDailyMicroUsd: 1_000_000,
      globalDailyMicroUsd: 20_000_000,
      keyPrefix: `${keyPrefix}:courses`,
    }),
    timeoutMs: 30_000,
    logger,
  });

  return {
    /** Row `generation`: every demo lesson through the generator with the deterministic provider. */
    async generateAll() {
      const generator = createGenerator({ db, router: createModelRouter(runtime(deterministic)), logger });
      const made = await generator.generatePublished(lessons.length, new Date());
      const runs = await db.generationRun.findMany();
      const items = await db.generatedItem.findMany({ select: { kind: true } });
      const calls = await db.modelCall.findMany();
      const byKind = { FLASHCARD: { accepted: 0, rejected: 0 }, QUIZ_ITEM: { accepted: 0, rejected: 0 } };
      for (const item of items) byKind[item.kind].accepted++;
      const reasons = {};
      for (const run of runs)
        for (const r of run.rejections) {
          byKind[r.kind].rejected++;
          for (const reason of r.reasons) {
            const key = reason.replace(/"[^"]*"|“[^”]*”|\d+/g, '…');
            reasons[key] = (reasons[key] ?? 0) + 1;
          }
        }
      const tokens = calls.reduce(
        (sum, c) => ({ inputTokens: sum.inputTokens + c.inputTokens, outputTokens: sum.outputTokens + c.outputTokens }),
        { inputTokens: 0, outputTokens: 0 },
      );
      // Start the sample from an empty ledger and material, so its lessons are generated afresh.
      await db.generatedItem.deleteMany({});
      await db.generationRun.deleteMany({});
      await db.modelCall.deleteMany({});
      return {
        runs: made,
        candidates: runs.reduce((n, r) => n + r.candidates, 0),
        accepted: runs.reduce((n, r) => n + r.accepted, 0),
        stored: items.length,
        byKind,
        topRejectionReasons: Object.entries(reasons)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5),
        calls: calls.length,
        tiers: [...new Set(calls.map((c) => c.tier))],
        costMicroUsd: calls.reduce((n, c) => n + Number(c.costMicroUsd), 0),
        tokens,
        cheapMicroUsd: costMicroUsd(DEFAULT_TIERS.CHEAP, tokens),
      };
    },

    /**
     * Row `report`: `learners` learners of the demo courses each ask their month's tutor turns (the
     * mix's mean, Poisson) in conversations of 2-5 turns on lessons of their course, with messages
     * from the generated set; the month's generation requests (the mix's mean per learner, one task
     * each; the generator runs both tasks of a lesson, so half as many lessons) come from the
     * instructor. Everything goes through the router to the local Messages API server.
     */
    async sampleMonth({ learners, mix, random, concurrency = 3 }) {
      const answers = new Map();
      const server = await startMessagesApiServer({
        reply: (body) =>
          answers.get(
            promptKey(
              blocksText(body.system ?? ''),
              body.messages.map((m) => ({ role: m.role, content: blocksText(m.content) })),
            ),
          ) ?? 'Which part of the lesson do you mean?',
      });
      try {
        const anthropic = createAnthropicProvider({ apiKey: TEST_API_KEY, baseURL: server.url });
        const router = createModelRouter(runtime(modelLikeProvider(anthropic, deterministic, answers)));
        const retrieval = createRetrievalIndex(db, createHashedEmbedding());
        const tutor = createTutor({ db, router, retrieval, logger, maxMessageChars: 2_000 });
        const generator = createGenerator({ db, router, logger });
        const courses = [...new Set(lessons.map((l) => l.courseId))];

        const plans = Array.from({ length: learners }, (_, n) => {
          const userId = idFor(`learner-${n}`);
          const courseId = courses[n % courses.length];
          // Each learner draws from a generator of their own: learners run concurrently, so a
          // shared one would hand out its numbers in a different order from run to run.
          const own = seededRandom(Math.floor(random() * 2 ** 31));
          // How much they struggle, from the mix's thread states: failed graded attempts lately,
          // as ai learns them from learning.quiz.graded (hints come from the conversation itself).
          const { recentFailures } = drawThreadState(own);
          return { userId, courseId, random: own, turns: poisson(own, mix.perLearnerMonth.tutorTurns), recentFailures };
        });
        for (const p of plans) {
          await db.enrolment.create({
            data: { userId: p.userId, courseId: p.courseId, mode: 'PAID', active: true, eventSequence: 1n },
          });
          const lessonId = lessons.find((l) => l.courseId === p.courseId).lessonId;
          await db.quizFailure.createMany({
            data: Array.from({ length: p.recentFailures }, () => ({
              attemptId: randomUUID(),
              userId: p.userId,
              courseId: p.courseId,
              lessonId,
              failedAt: new Date(),
            })),
          });
        }
        const generationTasks = plans.reduce((n) => n + poisson(random, mix.perLearnerMonth.generationRequests), 0);

        let asked = 0;
        const kinds = {};
        async function month(plan) {
          const { random } = plan;
          const own = lessons.filter((l) => l.courseId === plan.courseId);
          let left = plan.turns;
          while (left > 0) {
            const lesson = own[Math.floor(random() * own.length)];
            const messages = learnerMessages(lesson.text, random);
            for (let t = Math.min(left, 2 + Math.floor(random() * 4)); t > 0; t--, left--) {
              const { kind, message } = messages.next();
              kinds[kind] = (kinds[kind] ?? 0) + 1;
              await tutor.ask(learnerCtx(plan.userId), { lessonId: lesson.lessonId, message }, new Date());
              await tutor.drain();
              if (++asked % 50 === 0) log(`report sample: ${asked} tutor turns`);
            }
          }
        }
        let next = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < plans.length) await month(plans[next++]);
          }),
        );
        const instructor = learnerCtx(idFor('instructor'), 'INSTRUCTOR').viewer;
        const generationLessons = [];
        while (generationLessons.length < Math.min(lessons.length, Math.ceil(generationTasks / 2))) {
          const lesson = lessons[Math.floor(random() * lessons.length)];
          if (!generationLessons.includes(lesson)) generationLessons.push(lesson);
        }
        for (const lesson of generationLessons) await generator.request(instructor, lesson.lessonId, null, new Date());
        log(
          `report sample: ${asked} tutor turns, ${generationLessons.length} lessons generated (${generationTasks} requests)`,
        );

        const report = await costReport(db, 30, new Date(Date.now() + 1_000));
        const calls = await db.modelCall.findMany({
          select: { task: true, tier: true, outcome: true, inputTokens: true },
        });
        const byTaskTier = {};
        for (const c of calls) {
          const key = `${c.task} ${c.tier}${c.outcome === 'OK' ? '' : ` ${c.outcome}`}`;
          byTaskTier[key] = (byTaskTier[key] ?? 0) + 1;
        }
        // The server counts words; estimateTokens (which the budgets and the usage mix use) counts
        // characters / 4: their ratio over the same prompts, to read the two side by side.
        const estimated = server.requests.reduce((n, r) => {
          const body = r.body;
          return (
            n +
            estimateTokens(
              [blocksText(body.system ?? ''), ...body.messages.map((m) => blocksText(m.content))].join('\n'),
            )
          );
        }, 0);
        const counted = calls.filter((c) => c.tier !== 'DETERMINISTIC').reduce((n, c) => n + c.inputTokens, 0);
        return {
          learners,
          tutorTurns: asked,
          messageKinds: kinds,
          generationRequests: generationTasks,
          generatedLessons: generationLessons.length,
          serverRequests: server.requests.length,
          report,
          byTaskTier,
          estimateToServerTokens: counted ? estimated / counted : null,
        };
      } finally {
        await server.close();
      }
    },

    async close() {
      for (let cursor = '0'; ;) {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        if ((cursor = next) === '0') break;
      }
      redis.disconnect();
      await db.$disconnect();
      await dropDatabase(database);
    },
  };
}
