/**
 * learning's background workers as main.ts starts them (startWorkers), with short intervals, on a
 * database of their own and a private NATS as the `learning` user: a simulated learner over the
 * threshold is optimised through the scanner and the work queue, and is told of today's cards; the
 * workers then stop in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LearningEvents } from '@coursegraph/contracts';
import { eventually } from '@coursegraph/test-support';
import { startWorkers } from '../../src/workers/index.js';
import { reviewDay } from '../../src/workers/cards-due.js';
import { seedSimulatedLearner, silent, startHarness, type WorkersHarness } from './harness.js';

let h: WorkersHarness;
let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;

beforeAll(async () => {
  h = await startHarness('start_workers', {
    withNats: true,
    env: { FSRS_OPTIMIZE_CHECK_MS: '200', BKT_FIT_CHECK_MS: '200', CARDS_DUE_CHECK_MS: '200' },
  });
});
afterAll(async () => {
  if (workers) for (const w of workers.inOrder) await w.stop();
  await h?.close();
});

describe('startWorkers', () => {
  it('optimises a learner through the work queue and tells them of today’s cards, then stops in order', async () => {
    const learner = await seedSimulatedLearner(h.db, { seed: 'w-5', cards: 120, days: 60 });
    workers = await startWorkers(h.config, h.db, silent);
    const settings = await eventually(
      'the learner optimised',
      () =>
        h.db.learnerSettings.findFirst({
          where: { userId: learner.userId, optimizedReviewCount: learner.reviewCount },
        }),
      { timeoutMs: 60_000 },
    );
    expect(settings.calibration).toMatchObject({ heldOutReviews: expect.any(Number) });
    // The settings are stored before the cards are rescheduled and the job is acked.
    await eventually('the job finished', () => workers!.optimizer.done === 1);
    await eventually('the cards-due reminder', () =>
      h.db.dueReminder.findUnique({ where: { userId_day: { userId: learner.userId, day: reviewDay(new Date()) } } }),
    );
    expect(await h.db.outboxEvent.count({ where: { subject: LearningEvents.cardsDue.subject } })).toBe(1);
    for (const w of workers.inOrder) await w.stop();
    workers = undefined;
  });
});
