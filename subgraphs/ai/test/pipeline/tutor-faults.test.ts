/**
 * The tutor when the Messages API misbehaves: an outage whose retry-after is too long to wait and a
 * request that times out both end in the deterministic tutor's reply after a notice, with the budget
 * reservation given back and the failed call recorded at no cost; a short rate limit is waited out
 * and the reply is charged once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_NOTICES } from '../../src/domain/model-router.js';
import { costMicroUsd } from '../../src/domain/routing/tiers.js';
import { estimateTokens, type Tier } from '../../src/providers/provider.js';
import {
  askTutor,
  enrolledLearner,
  modelCalls,
  publishCourse,
  spentToday,
  startPipeline,
  tierOf,
  type Pipeline,
  type TestCourse,
} from './harness.js';

const MAX_RETRY_WAIT_MS = 1_000;
const MODEL_TIMEOUT_MS = 1_500;
const QUESTION = 'Why does a spring tide happen when the Sun and the Moon line up?';
const MODEL_REPLY =
  'Good question to ask. Look at the second paragraph of the lesson again. How do the two pulls combine when the three bodies line up?';

let pipeline: Pipeline;
let course: TestCourse;
beforeAll(async () => {
  pipeline = await startPipeline({
    AI_MAX_RETRY_WAIT_MS: String(MAX_RETRY_WAIT_MS),
    AI_MODEL_TIMEOUT_MS: String(MODEL_TIMEOUT_MS),
  });
  pipeline.model = () => MODEL_REPLY;
  course = await publishCourse(pipeline);
});
afterAll(() => pipeline?.close());

/**
 * A reply the deterministic tutor finished after `notice`: the turn's text is the notice and then
 * exactly what the recorded deterministic call wrote (its output tokens are estimated from that text).
 */
async function expectFallbackReply(userId: string, text: string, notice: string, from: Tier) {
  expect(text.startsWith(`${notice}\n\n`)).toBe(true);
  const rest = text.slice(notice.length + 2);
  expect(rest.trim()).not.toBe('');
  expect(text).not.toContain(MODEL_REPLY.slice(0, 20));
  const deterministic = (await modelCalls(pipeline, userId)).filter((c) => c.tier === 'DETERMINISTIC');
  expect(deterministic).toHaveLength(1);
  expect(deterministic[0]).toMatchObject({
    provider: 'deterministic',
    outcome: 'OK',
    escalatedFrom: from,
    costMicroUsd: 0n,
    outputTokens: estimateTokens(rest),
  });
}

describe('the tutor when the provider fails', () => {
  it('answers with the deterministic tutor after a 529 whose retry-after is too long, and charges nothing', async () => {
    const learner = await enrolledLearner(pipeline, course);
    const from = pipeline.server.requests.length;
    pipeline.server.script([{ kind: 'error', status: 529, retryAfterSeconds: 30 }]);
    const turn = await askTutor(pipeline, learner.token, course.lessonId, QUESTION);

    // One request: a 30 s retry-after is beyond AI_MAX_RETRY_WAIT_MS, so it is not waited.
    const sent = pipeline.server.requests.slice(from);
    expect(sent.map((r) => r.fault)).toEqual(['error']);
    const tier = tierOf(pipeline, sent[0]!.body)!;
    expect(turn).toMatchObject({ status: 'DONE', tier: 'DETERMINISTIC', fallbackReason: 'PROVIDER_UNAVAILABLE' });
    await expectFallbackReply(learner.userId, turn.text, FALLBACK_NOTICES.PROVIDER_UNAVAILABLE, tier);

    const failed = (await modelCalls(pipeline, learner.userId)).filter((c) => c.tier !== 'DETERMINISTIC');
    expect(failed.map((c) => [c.tier, c.provider, c.model, c.outcome, c.inputTokens, c.costMicroUsd])).toEqual([
      [tier, 'anthropic', pipeline.tiers[tier].model, 'PROVIDER_ERROR', 0, 0n],
    ]);
    // The reservation made before the call was released: the learner's day is back at nothing.
    expect(await spentToday(pipeline, learner.userId)).toBe(0);
  });

  it('waits out a 429 with a short retry-after and charges the one reply once', async () => {
    const learner = await enrolledLearner(pipeline, course);
    const from = pipeline.server.requests.length;
    const retryAfterMs = 300;
    pipeline.server.script([{ kind: 'error', status: 429, retryAfterMs }]);
    const turn = await askTutor(pipeline, learner.token, course.lessonId, QUESTION);

    const sent = pipeline.server.requests.slice(from);
    expect(sent.map((r) => r.fault)).toEqual(['error', undefined]);
    // The same request again, not before the server said.
    expect(sent[1]!.body).toEqual(sent[0]!.body);
    expect(sent[1]!.receivedAt - sent[0]!.receivedAt).toBeGreaterThanOrEqual(retryAfterMs);
    const tier = tierOf(pipeline, sent[1]!.body)!;
    expect(turn).toMatchObject({ status: 'DONE', tier, fallbackReason: null, text: MODEL_REPLY });

    const calls = await modelCalls(pipeline, learner.userId);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({ tier, outcome: 'OK', escalatedFrom: null });
    expect(call!.costMicroUsd).toBe(
      BigInt(costMicroUsd(pipeline.tiers[tier], { inputTokens: call!.inputTokens, outputTokens: call!.outputTokens })),
    );
    expect(call!.costMicroUsd).toBeGreaterThan(0n);
    expect(await spentToday(pipeline, learner.userId)).toBe(Number(call!.costMicroUsd));
  });

  it('answers with the deterministic tutor when the headers come after AI_MODEL_TIMEOUT_MS, and charges nothing', async () => {
    const learner = await enrolledLearner(pipeline, course);
    const from = pipeline.server.requests.length;
    pipeline.server.script([{ kind: 'slow', delayMs: 20 * MODEL_TIMEOUT_MS }]);
    const turn = await askTutor(pipeline, learner.token, course.lessonId, QUESTION);

    // A timeout is not retried: the deadline covers every attempt.
    const sent = pipeline.server.requests.slice(from);
    expect(sent.map((r) => r.fault)).toEqual(['slow']);
    const tier = tierOf(pipeline, sent[0]!.body)!;
    expect(turn).toMatchObject({ status: 'DONE', tier: 'DETERMINISTIC', fallbackReason: 'PROVIDER_UNAVAILABLE' });
    await expectFallbackReply(learner.userId, turn.text, FALLBACK_NOTICES.PROVIDER_UNAVAILABLE, tier);

    const failed = (await modelCalls(pipeline, learner.userId)).filter((c) => c.tier !== 'DETERMINISTIC');
    expect(failed.map((c) => [c.tier, c.outcome, c.inputTokens, c.outputTokens, c.costMicroUsd])).toEqual([
      [tier, 'PROVIDER_ERROR', 0, 0, 0n],
    ]);
    expect(await spentToday(pipeline, learner.userId)).toBe(0);
  });

  it('keeps the sentences sent before a stream stalls, and charges for them', async () => {
    const learner = await enrolledLearner(pipeline, course);
    const first = MODEL_REPLY.slice(0, MODEL_REPLY.indexOf('.') + 1);
    const from = pipeline.server.requests.length;
    // The stream stops a few words into the second sentence and never ends.
    pipeline.server.script([{ kind: 'stall', afterDeltas: first.split(' ').length + 3 }]);
    const turn = await askTutor(pipeline, learner.token, course.lessonId, QUESTION);

    const tier = tierOf(pipeline, pipeline.server.requests[from]!.body)!;
    const notice = `\n\n${FALLBACK_NOTICES.PROVIDER_UNAVAILABLE}\n\n`;
    expect(turn).toMatchObject({ status: 'DONE', tier: 'DETERMINISTIC', fallbackReason: 'PROVIDER_UNAVAILABLE' });
    expect(turn.text.startsWith(`${first}${notice}`)).toBe(true);
    expect(turn.text.length).toBeGreaterThan(`${first}${notice}`.length);

    // The model wrote (and the provider bills) what it streamed: the call is charged its estimate.
    const calls = await modelCalls(pipeline, learner.userId);
    expect(calls.map((c) => [c.tier, c.outcome, c.escalatedFrom])).toEqual([
      [tier, 'PROVIDER_ERROR', null],
      ['DETERMINISTIC', 'OK', tier],
    ]);
    expect(calls[0]!.costMicroUsd).toBeGreaterThan(0n);
    expect(await spentToday(pipeline, learner.userId)).toBe(Number(calls[0]!.costMicroUsd));
  });
});
