/**
 * Generated material through the real Anthropic adapter: a tier whose answer is unusable hands the
 * task to the next one, every call is recorded with its tokens and cost, and the run costs their sum;
 * when no tier's answer is usable, the deterministic provider writes the material.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessagesRequestBody } from '@coursegraph/test-support';
import { costMicroUsd } from '../../src/domain/routing/tiers.js';
import type { Tier } from '../../src/providers/provider.js';
import {
  passageHolding,
  publishCourse,
  courseSpentToday,
  spentToday,
  startPipeline,
  taskOf,
  tierOf,
  modelCalls,
  type Pipeline,
} from './harness.js';

let pipeline: Pipeline;
beforeAll(async () => {
  // Generation is paid from the course's own budget (AI_COURSE_DAILY_BUDGET_USD, $1 by default),
  // which holds the worst case of every tier (a flashcard task at TOP reserves about $0.052).
  pipeline = await startPipeline();
});
afterAll(() => pipeline?.close());

const GENERATE = `mutation($l: ID!) { generateStudyMaterial(lessonId: $l) { id candidates accepted costUsd } }`;

const MOON = 'Tides are caused mainly by the gravity of the Moon.';

/** A cloze card a careful model would write from the lesson: one key term deleted from a quoted sentence. */
const goodCard = (body: MessagesRequestBody) =>
  JSON.stringify({
    cards: [
      {
        kind: 'CLOZE',
        text: 'Tides are caused mainly by the gravity of the {{c1::Moon}}.',
        passageId: passageHolding(body, MOON),
        quote: MOON,
      },
    ],
  });

/** A single-choice question on the same sentence, its wrong choices unsupported by the quote. */
const goodQuestion = (body: MessagesRequestBody) =>
  JSON.stringify({
    items: [
      {
        type: 'SINGLE_CHOICE',
        prompt: 'What mainly causes the tides?',
        choices: ['The gravity of the Moon', 'The heat of summer', 'Strong winds over the ocean'],
        correctIndex: 0,
        passageId: passageHolding(body, MOON),
        quote: MOON,
      },
    ],
  });

/** Three ways a model's material answer is unusable: broken JSON, a quote the passage lacks, no JSON at all. */
const unusable: Record<Tier, (body: MessagesRequestBody) => string> = {
  CHEAP: () => 'Here are your cards: {"cards": [{"kind": "CLOZE", "text": "Tides {{c1::rise}}",}]}',
  // Well formed, but quoting a sentence the lesson does not have (QUOTE_NOT_IN_PASSAGE).
  MID: (body) => {
    const cited = { passageId: passageHolding(body, MOON), quote: 'The Moon pulls the oceans towards it every night.' };
    return taskOf(body) === 'FLASHCARD_EXTRACTION'
      ? JSON.stringify({
          cards: [{ kind: 'BASIC', front: 'What pulls the oceans every night?', back: 'The Moon', ...cited }],
        })
      : JSON.stringify({
          items: [
            {
              type: 'SINGLE_CHOICE',
              prompt: 'What pulls the oceans every night?',
              choices: ['The Moon', 'Mars', 'Jupiter'],
              correctIndex: 0,
              ...cited,
            },
          ],
        });
  },
  TOP: () => 'I would rather not write cards for this lesson.',
};

/** The requests the fake model received since `from`, as (task, tier) pairs. */
const requestsSince = (from: number) =>
  pipeline.server.requests
    .slice(from)
    .map((r) => [taskOf(r.body as MessagesRequestBody), tierOf(pipeline, r.body)] as const);

describe('generation through the routed tiers', () => {
  it("escalates to MID when CHEAP's answer is unusable, uses MID's answer and charges both calls", async () => {
    const course = await publishCourse(pipeline);
    pipeline.model = (body, tier) => {
      if (taskOf(body) === 'QUIZ_GENERATION') return goodQuestion(body);
      return tier === 'CHEAP' ? unusable.CHEAP(body) : goodCard(body);
    };
    const from = pipeline.server.requests.length;
    const { generateStudyMaterial: run } = await pipeline.gql(
      GENERATE,
      { l: course.lessonId },
      course.instructor.token,
    );

    // The server saw the flashcard task at CHEAP, then again with MID's model name; the quiz at CHEAP.
    expect(requestsSince(from)).toEqual([
      ['FLASHCARD_EXTRACTION', 'CHEAP'],
      ['FLASHCARD_EXTRACTION', 'MID'],
      ['QUIZ_GENERATION', 'CHEAP'],
    ]);
    const calls = await modelCalls(pipeline, course.instructor.userId);
    expect(calls.map((c) => [c.task, c.tier, c.outcome, c.escalatedFrom, c.provider])).toEqual([
      ['FLASHCARD_EXTRACTION', 'CHEAP', 'INVALID_OUTPUT', null, 'anthropic'],
      ['FLASHCARD_EXTRACTION', 'MID', 'OK', 'CHEAP', 'anthropic'],
      ['QUIZ_GENERATION', 'CHEAP', 'OK', null, 'anthropic'],
    ]);
    // Each call is charged at its own tier's price for the tokens the server reported.
    for (const call of calls) {
      expect(call.inputTokens).toBeGreaterThan(0);
      expect(call.outputTokens).toBeGreaterThan(0);
      expect(call.model).toBe(pipeline.tiers[call.tier as Tier].model);
      expect(Number(call.costMicroUsd)).toBe(
        costMicroUsd(pipeline.tiers[call.tier as Tier], {
          inputTokens: call.inputTokens,
          outputTokens: call.outputTokens,
        }),
      );
    }
    const total = calls.reduce((sum, c) => sum + Number(c.costMicroUsd), 0);
    const stored = await pipeline.app.db.generationRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(stored).toMatchObject({ status: 'DONE', candidates: 2, accepted: 2, costMicroUsd: BigInt(total) });
    expect(run.costUsd).toBe(total / 1_000_000);
    // The course's budget was settled at what the calls cost, the failed CHEAP attempt included;
    // the instructor's own (tutor) allowance was not touched.
    expect(await courseSpentToday(pipeline, course.courseId)).toBe(total);
    expect(await spentToday(pipeline, course.instructor.userId)).toBe(0);

    const items = await pipeline.app.db.generatedItem.findMany({ where: { runId: run.id }, orderBy: { kind: 'asc' } });
    expect(items.map((i) => [i.kind, i.tier, i.status, i.quote])).toEqual([
      ['FLASHCARD', 'MID', 'PENDING_REVIEW', MOON],
      ['QUIZ_ITEM', 'CHEAP', 'PENDING_REVIEW', MOON],
    ]);
    expect(items[0]!.content).toMatchObject({ kind: 'CLOZE', text: expect.stringContaining('{{c1::Moon}}') });
  });

  it('falls back to the deterministic provider when every tier is unusable, recording each refusal', async () => {
    const course = await publishCourse(pipeline);
    pipeline.model = (body, tier) => unusable[tier](body);
    const from = pipeline.server.requests.length;
    const { generateStudyMaterial: run } = await pipeline.gql(
      GENERATE,
      { l: course.lessonId },
      course.instructor.token,
    );

    expect(requestsSince(from)).toEqual([
      ['FLASHCARD_EXTRACTION', 'CHEAP'],
      ['FLASHCARD_EXTRACTION', 'MID'],
      ['FLASHCARD_EXTRACTION', 'TOP'],
      ['QUIZ_GENERATION', 'CHEAP'],
      ['QUIZ_GENERATION', 'MID'],
      ['QUIZ_GENERATION', 'TOP'],
    ]);
    const calls = await modelCalls(pipeline, course.instructor.userId);
    const cascade = (task: string) => [
      [task, 'CHEAP', 'INVALID_OUTPUT', null],
      [task, 'MID', 'INVALID_OUTPUT', 'CHEAP'],
      [task, 'TOP', 'INVALID_OUTPUT', 'MID'],
      [task, 'DETERMINISTIC', 'OK', 'TOP'],
    ];
    expect(calls.map((c) => [c.task, c.tier, c.outcome, c.escalatedFrom])).toEqual([
      ...cascade('FLASHCARD_EXTRACTION'),
      ...cascade('QUIZ_GENERATION'),
    ]);
    // The deterministic answers are free; the three refused answers of each task were paid for.
    const deterministic = calls.filter((c) => c.tier === 'DETERMINISTIC');
    expect(deterministic.every((c) => c.provider === 'deterministic' && c.costMicroUsd === 0n)).toBe(true);
    const paid = calls.filter((c) => c.tier !== 'DETERMINISTIC');
    expect(paid.every((c) => c.costMicroUsd > 0n)).toBe(true);
    const total = paid.reduce((sum, c) => sum + Number(c.costMicroUsd), 0);
    const stored = await pipeline.app.db.generationRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(stored.costMicroUsd).toBe(BigInt(total));
    expect(await courseSpentToday(pipeline, course.courseId)).toBe(total);

    // The material is the deterministic provider's: validated like any other, none of it from a model.
    const items = await pipeline.app.db.generatedItem.findMany({ where: { runId: run.id } });
    expect(items.length).toBe(stored.accepted);
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((i) => i.tier))).toEqual(new Set(['DETERMINISTIC']));
    expect(items.some((i) => i.quote.includes('The Moon pulls the oceans'))).toBe(false);
  });

  it('takes an empty list as an answer (nothing in the lesson to ask about): no escalation', async () => {
    const course = await publishCourse(pipeline);
    pipeline.model = (body) => (taskOf(body) === 'QUIZ_GENERATION' ? '{"items": []}' : goodCard(body));
    const from = pipeline.server.requests.length;
    const { generateStudyMaterial: run } = await pipeline.gql(
      GENERATE,
      { l: course.lessonId },
      course.instructor.token,
    );
    expect(requestsSince(from)).toEqual([
      ['FLASHCARD_EXTRACTION', 'CHEAP'],
      ['QUIZ_GENERATION', 'CHEAP'],
    ]);
    const calls = await modelCalls(pipeline, course.instructor.userId);
    expect(calls.map((c) => [c.task, c.tier, c.outcome])).toEqual([
      ['FLASHCARD_EXTRACTION', 'CHEAP', 'OK'],
      ['QUIZ_GENERATION', 'CHEAP', 'OK'],
    ]);
    expect(run.accepted).toBeGreaterThan(0);
  });
});
