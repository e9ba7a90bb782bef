/**
 * The tutor's tier follows the learner: an easy recall turn goes to the cheap tier, an ordinary
 * question to the middle one, and a learner who is stuck (hints given and graded attempts failed
 * lately, from learning's events) to the top one; the server saw each tier's model name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  askTutor,
  enrolledLearner,
  failedQuiz,
  modelCalls,
  publishCourse,
  startPipeline,
  type Pipeline,
  type TestCourse,
} from './harness.js';

let pipeline: Pipeline;
let course: TestCourse;
beforeAll(async () => {
  pipeline = await startPipeline();
  pipeline.model = () => 'What does the lesson say pulls the water? Which body is closer to us?';
  course = await publishCourse(pipeline);
});
afterAll(() => pipeline?.close());

describe('the tutor routed by the learner', () => {
  it('cheap for an easy recall turn, middle for a question that asks why, top once the learner is stuck', async () => {
    const learner = await enrolledLearner(pipeline, course);
    await askTutor(pipeline, learner.token, course.lessonId, 'What is a tide?');
    await askTutor(pipeline, learner.token, course.lessonId, 'Why does the Moon matter more than the Sun for tides?');
    // Three hints so far; two graded attempts failed: stuck.
    await pipeline.app.db.conversation.updateMany({ where: { userId: learner.userId }, data: { hintsGiven: 3 } });
    await failedQuiz(pipeline, course, learner.userId);
    await failedQuiz(pipeline, course, learner.userId);
    await askTutor(pipeline, learner.token, course.lessonId, 'I still do not understand it.');

    const tiers = (await modelCalls(pipeline, learner.userId)).map((c) => [c.tier, c.outcome]);
    expect(tiers).toEqual([
      ['CHEAP', 'OK'],
      ['MID', 'OK'],
      ['TOP', 'OK'],
    ]);
  });
});
