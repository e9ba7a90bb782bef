/**
 * Over a daily budget no model is asked: the learner's own day spent, or the platform's. The
 * deterministic tutor answers after a notice that says which, and the refusal is recorded.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_NOTICES } from '../../src/domain/model-router.js';
import {
  askTutor,
  enrolledLearner,
  modelCalls,
  publishCourse,
  spentToday,
  startPipeline,
  type Pipeline,
} from './harness.js';

const QUESTION = 'Why does a spring tide happen when the Sun and the Moon line up?';

let pipeline: Pipeline;
/** Its platform-wide day is tiny: tests spend it without touching what other tests spend. */
let smallPlatform: Pipeline;
beforeAll(async () => {
  [pipeline, smallPlatform] = await Promise.all([
    startPipeline(),
    startPipeline({ AI_GLOBAL_DAILY_BUDGET_USD: '0.001' }),
  ]);
  for (const p of [pipeline, smallPlatform]) p.model = () => 'What do you notice about the three bodies?';
});
afterAll(() => Promise.all([pipeline?.close(), smallPlatform?.close()]));

/** Spends `microUsd` of `userId`'s day (and the platform's) as a settled earlier call would. */
async function spend(p: Pipeline, userId: string, microUsd: number) {
  const now = new Date();
  const reserved = await p.app.ai.budgets.reserve({ callId: randomUUID(), userId, estimateMicroUsd: microUsd, now });
  if (!reserved.ok) throw new Error(`could not spend ${microUsd} µ$: ${reserved.scope}`);
  await p.app.ai.budgets.settle(reserved.reservation, microUsd);
}

/** A new course of `p`'s and a learner enrolled in it. */
async function learnerInNewCourse(p: Pipeline) {
  const course = await publishCourse(p);
  const learner = await enrolledLearner(p, course);
  return { course, learner };
}

describe('daily budgets', () => {
  it("answers with the deterministic tutor and asks no model when the learner's day is spent", async () => {
    const { course, learner } = await learnerInNewCourse(pipeline);
    const limit = (await pipeline.app.ai.budgets.spent(learner.userId, new Date())).userLimitMicroUsd;
    await spend(pipeline, learner.userId, limit);

    const from = pipeline.server.requests.length;
    const turn = await askTutor(pipeline, learner.token, course.lessonId, QUESTION);
    expect(pipeline.server.requests.length).toBe(from);
    expect(turn).toMatchObject({ status: 'DONE', tier: 'DETERMINISTIC', fallbackReason: 'OVER_USER_BUDGET' });
    expect(turn.text.startsWith(`${FALLBACK_NOTICES.OVER_USER_BUDGET}\n\n`)).toBe(true);

    const calls = await modelCalls(pipeline, learner.userId);
    expect(calls.map((c) => [c.provider, c.outcome, c.costMicroUsd, c.inputTokens])).toEqual([
      ['anthropic', 'OVER_BUDGET', 0n, 0],
      ['deterministic', 'OK', 0n, calls[1]!.inputTokens],
    ]);
    expect(calls[1]!.escalatedFrom).toBe(calls[0]!.tier);
    // The refusal reserved nothing.
    expect(await spentToday(pipeline, learner.userId)).toBe(limit);
  });

  it("answers with the deterministic tutor and asks no model when the platform's day is spent", async () => {
    const { course, learner } = await learnerInNewCourse(smallPlatform);
    // Other learners spent what is left of the platform's day (more tests may have spent some already).
    const spent = await smallPlatform.app.ai.budgets.spent(learner.userId, new Date());
    const left = spent.globalLimitMicroUsd - spent.globalMicroUsd;
    if (left > 0) await spend(smallPlatform, randomUUID(), left);

    const from = smallPlatform.server.requests.length;
    const turn = await askTutor(smallPlatform, learner.token, course.lessonId, QUESTION);
    expect(smallPlatform.server.requests.length).toBe(from);
    expect(turn).toMatchObject({ status: 'DONE', tier: 'DETERMINISTIC', fallbackReason: 'OVER_GLOBAL_BUDGET' });
    expect(turn.text.startsWith(`${FALLBACK_NOTICES.OVER_GLOBAL_BUDGET}\n\n`)).toBe(true);
    expect((await modelCalls(smallPlatform, learner.userId)).map((c) => [c.provider, c.outcome])).toEqual([
      ['anthropic', 'OVER_BUDGET'],
      ['deterministic', 'OK'],
    ]);
    // The learner's own day is untouched.
    expect(await spentToday(smallPlatform, learner.userId)).toBe(0);
  });
});
