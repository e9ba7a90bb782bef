/**
 * A learner with a graded quiz attempt open: the model never reads the attempt's answers, and when
 * its reply states one anyway (a model may know it from elsewhere), the sentence that does is never
 * sent: what came before it stays, and the deterministic tutor finishes the reply after a notice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_NOTICES } from '../../src/domain/model-router.js';
import { findAnswerLeaks } from '../../src/domain/tutor/leak.js';
import { HIDDEN } from '../../src/domain/tutor/prompts.js';
import {
  askTutor,
  enrolledLearner,
  modelCalls,
  openAttempt,
  publishCourse,
  replyEvents,
  spentToday,
  startPipeline,
  tierOf,
  type Pipeline,
} from './harness.js';

const PROTECTED = 'neap tide';
/** The open attempt's answers: both are in the lesson's text. */
const ANSWERS = [PROTECTED, 'Bay of Fundy'];
const FIRST = 'Think about the directions of the two pulls.';
const LEAKING = ' When they pull at right angles you get a Neap Tide.';
const AFTER = ' Which word in the lesson describes its range?';

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline();
  // The model states the answer in its second sentence, capitalised differently than the quiz has it.
  pipeline.model = () => `${FIRST}${LEAKING}${AFTER}`;
});
afterAll(() => pipeline?.close());

describe('the answer-leak guard', () => {
  it('sends the sentences before a leaking one, withholds the rest and lets the deterministic tutor finish', async () => {
    const course = await publishCourse(pipeline);
    const learner = await enrolledLearner(pipeline, course);
    await openAttempt(pipeline, course, learner.userId, ANSWERS);
    const from = pipeline.server.requests.length;
    const turn = await askTutor(
      pipeline,
      learner.token,
      course.lessonId,
      'What happens when the Sun and the Moon pull at right angles?',
    );

    // The model was asked once, and what it read held no protected answer: the lesson passage that
    // states it reached the model with the answer blanked.
    const sent = pipeline.server.requests.slice(from);
    expect(sent).toHaveLength(1);
    const prompt = JSON.stringify(sent[0]!.body);
    expect(prompt).toContain('pull at right angles, the result is a');
    expect(prompt).toContain(HIDDEN);
    expect(findAnswerLeaks(prompt, ANSWERS)).toEqual([]);
    const tier = tierOf(pipeline, sent[0]!.body)!;

    // The learner got the first sentence, then the notice, then the deterministic reply.
    const notice = `\n\n${FALLBACK_NOTICES.ANSWER_WITHHELD}\n\n`;
    expect(turn).toMatchObject({ status: 'DONE', tier: 'DETERMINISTIC', fallbackReason: 'ANSWER_WITHHELD' });
    expect(turn.text.startsWith(`${FIRST}${notice}`)).toBe(true);
    expect(turn.text.length).toBeGreaterThan(`${FIRST}${notice}`.length);
    expect(findAnswerLeaks(turn.text, ANSWERS)).toEqual([]);
    expect(turn.text).not.toContain(AFTER.trim());

    // Nothing of the leaking sentence was ever published either.
    const events = await replyEvents(pipeline, turn);
    expect(events.at(-1)).toMatchObject({ done: true, tier: 'DETERMINISTIC', fallbackReason: 'ANSWER_WITHHELD' });
    expect(events[0]!.text).toBe(FIRST);
    expect(events.every((e) => findAnswerLeaks(e.text, ANSWERS).length === 0)).toBe(true);

    // The model's call is recorded as blocked and charged (its tokens were spent); the rest is free.
    const calls = await modelCalls(pipeline, learner.userId);
    expect(calls.map((c) => [c.tier, c.outcome, c.escalatedFrom])).toEqual([
      [tier, 'LEAK_BLOCKED', null],
      ['DETERMINISTIC', 'OK', tier],
    ]);
    expect(calls[0]!.costMicroUsd).toBeGreaterThan(0n);
    expect(calls[1]!.costMicroUsd).toBe(0n);
    expect(await spentToday(pipeline, learner.userId)).toBe(Number(calls[0]!.costMicroUsd));
  });

  it("keeps the model's reply whole when no attempt is open", async () => {
    const course = await publishCourse(pipeline);
    const learner = await enrolledLearner(pipeline, course);
    const turn = await askTutor(
      pipeline,
      learner.token,
      course.lessonId,
      'What happens when the Sun and the Moon pull at right angles?',
    );
    expect(turn).toMatchObject({ fallbackReason: null, text: `${FIRST}${LEAKING}${AFTER}` });
    expect((await modelCalls(pipeline, learner.userId)).map((c) => c.outcome)).toEqual(['OK']);
  });
});
