/**
 * The tutor's reply as it streams: ai.tutor.reply events in the outbox, in seq order, sentence by
 * sentence, the last one done and naming the tier; the stored turn is what they add up to. A message
 * sent again with the same clientTurnId, later or at the same moment, is answered and charged once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  askTutor,
  enrolledLearner,
  modelCalls,
  publishCourse,
  replyEvents,
  spentToday,
  startPipeline,
  tierOf,
  type Pipeline,
  type TestCourse,
} from './harness.js';

const QUESTION = 'What is the tidal range, and how would you measure it on a beach?';
const MODEL_REPLY = [
  'Let us take it step by step.',
  ' The lesson compares two heights of the water.',
  ' Which two moments of the day would you pick to measure them?',
  '\nAnd what would you subtract from what?',
].join('');

let pipeline: Pipeline;
let course: TestCourse;
beforeAll(async () => {
  pipeline = await startPipeline();
  pipeline.model = () => MODEL_REPLY;
  course = await publishCourse(pipeline);
});
afterAll(() => pipeline?.close());

const conversationTurns = (turn: { conversationId: string }) =>
  pipeline.app.db.tutorTurn.findMany({ where: { conversationId: turn.conversationId }, orderBy: { createdAt: 'asc' } });

describe('the streamed reply', () => {
  it('publishes the reply in seq order, sentence by sentence, and stores what the events add up to', async () => {
    const learner = await enrolledLearner(pipeline, course);
    const from = pipeline.server.requests.length;
    const turn = await askTutor(pipeline, learner.token, course.lessonId, QUESTION);
    const tier = tierOf(pipeline, pipeline.server.requests[from]!.body)!;
    expect(turn).toMatchObject({ status: 'DONE', tier, fallbackReason: null, text: MODEL_REPLY });

    const events = await replyEvents(pipeline, turn);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const last = events.at(-1)!;
    expect(last).toMatchObject({ done: true, text: '', tier, fallbackReason: '' });
    const pieces = events.slice(0, -1);
    expect(pieces.every((e) => !e.done)).toBe(true);
    // Sent in whole sentences as the model wrote them, not in one piece at the end.
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.map((e) => e.text).join('')).toBe(turn.text);
    for (const e of events)
      expect(e).toMatchObject({
        turnId: turn.id,
        conversationId: turn.conversationId,
        userId: learner.userId,
        courseId: course.courseId,
        lessonId: course.lessonId,
      });
  });
});

describe('a message sent again with its clientTurnId', () => {
  it('gets the same turn, with one model request and one charge', async () => {
    const learner = await enrolledLearner(pipeline, course);
    const clientTurnId = `retry-${randomUUID()}`;
    const from = pipeline.server.requests.length;
    const first = await askTutor(pipeline, learner.token, course.lessonId, QUESTION, clientTurnId);
    const again = await askTutor(pipeline, learner.token, course.lessonId, QUESTION, clientTurnId);

    expect(again).toEqual(first);
    expect(pipeline.server.requests.length - from).toBe(1);
    const calls = await modelCalls(pipeline, learner.userId);
    expect(calls.map((c) => c.outcome)).toEqual(['OK']);
    expect(await spentToday(pipeline, learner.userId)).toBe(Number(calls[0]!.costMicroUsd));
    expect((await conversationTurns(first)).map((t) => [t.role, t.text])).toEqual([
      ['LEARNER', QUESTION],
      ['TUTOR', MODEL_REPLY],
    ]);
    expect((await replyEvents(pipeline, first)).filter((e) => e.done)).toHaveLength(1);
  });

  it('gets one turn when both copies arrive at once', async () => {
    const learner = await enrolledLearner(pipeline, course);
    const clientTurnId = `twice-${randomUUID()}`;
    const from = pipeline.server.requests.length;
    const [a, b] = await Promise.all([
      askTutor(pipeline, learner.token, course.lessonId, QUESTION, clientTurnId),
      askTutor(pipeline, learner.token, course.lessonId, QUESTION, clientTurnId),
    ]);

    expect(a.id).toBe(b.id);
    expect(pipeline.server.requests.length - from).toBe(1);
    expect((await modelCalls(pipeline, learner.userId)).map((c) => c.outcome)).toEqual(['OK']);
    expect((await conversationTurns(a)).map((t) => t.role)).toEqual(['LEARNER', 'TUTOR']);
  });
});
