/**
 * FSRS optimisation from the LEARNING_JOBS work queue, against a database of its own and a private
 * NATS as the `learning` user: the scanner queues one job per learner at or over 400 reviews (one
 * even when two replicas scan at once), the worker stores parameters and calibration and
 * reschedules the learner's review cards, and jobs already done or malformed change nothing.
 * Learners are simulated (domain simulator, real scheduler in memory) and stored as rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { FSRSAlgorithm } from 'ts-fsrs';
import { connectNats, natsConnectOptions, newId } from '@coursegraph/service-kit';
import { eventually } from '@coursegraph/test-support';
import { reviewSettingsView, type FsrsCalibration } from '../../src/domain/reviews.js';
import { dayNumber } from '../../src/domain/scheduling/load-balance.js';
import {
  MIN_REVIEWS_FOR_OPTIMIZATION,
  evaluate,
  splitHeldOut,
  type CardHistory,
} from '../../src/domain/scheduling/optimizer.js';
import { DEFAULT_PARAMS, gradeOf } from '../../src/domain/scheduling/scheduler.js';
import { decodeJob, ensureJobQueue, JOBS_STREAM, OPTIMIZE_SUBJECT } from '../../src/workers/job-queue.js';
import { startOptimizeConsumer, type OptimizeConsumer } from '../../src/workers/optimize-consumer.js';
import { optimizeLearner } from '../../src/workers/optimize-learner.js';
import { runOptimizeScan } from '../../src/workers/optimize-scan.js';
import {
  enrol,
  seedCourse,
  seedSimulatedLearner,
  silent,
  startHarness,
  type SimulatedLearner,
  type WorkersHarness,
} from './harness.js';

const DAY_MS = 86_400_000;
let h: WorkersHarness;
let operator: NatsConnection;
let operatorJsm: JetStreamManager;
const learningConnections: NatsConnection[] = [];
let consumer: OptimizeConsumer | undefined;
const now = new Date();

/** Simulated learners: over the threshold (`better` and `worse`: whether fitted parameters beat the defaults), and under it. */
let better: SimulatedLearner;
let worse: SimulatedLearner;
let under: SimulatedLearner;

const asLearning = async () => {
  const nc = await connectNats(h.config.natsUrl, { name: 'learning-workers-test', logger: silent });
  learningConnections.push(nc);
  return nc;
};

/** The jobs the queue holds, decoded. */
async function queuedJobs() {
  const info = await operatorJsm.streams.info(JOBS_STREAM);
  const jobs = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await operatorJsm.streams.getMessage(JOBS_STREAM, { seq }).catch(() => null);
    if (m) jobs.push(decodeJob(m.data));
  }
  return jobs;
}

const cardsOf = (userId: string) => h.db.card.findMany({ where: { userId }, orderBy: { id: 'asc' } });

beforeAll(async () => {
  h = await startHarness('fsrs_optimizer', { withNats: true });
  operator = await connect(natsConnectOptions(h.nats.url));
  operatorJsm = await jetstreamManager(operator);
  await ensureJobQueue(await jetstreamManager(await asLearning()));
  // Seeds chosen so that one learner's fitted parameters beat FSRS's defaults on held-out reviews and
  // the other's do not (the simulator is deterministic given the seed).
  better = await seedSimulatedLearner(h.db, { seed: 'w-1', cards: 150, days: 90, now });
  worse = await seedSimulatedLearner(h.db, { seed: 'w-2', cards: 150, days: 90, now });
  under = await seedSimulatedLearner(h.db, { seed: 'w-7', cards: 40, days: 20, now });
});

afterAll(async () => {
  await consumer?.stop();
  for (const nc of learningConnections) await nc.close();
  await operator?.close();
  await h?.close();
});

describe('the optimisation scanner', () => {
  it('queues one job per learner at or over the threshold, even with two replicas scanning at once', async () => {
    expect(better.reviewCount).toBeGreaterThanOrEqual(MIN_REVIEWS_FOR_OPTIMIZATION);
    expect(worse.reviewCount).toBeGreaterThanOrEqual(MIN_REVIEWS_FOR_OPTIMIZATION);
    expect(under.reviewCount).toBeLessThan(MIN_REVIEWS_FOR_OPTIMIZATION);
    const options = { growth: h.config.reoptimizeGrowth, batch: h.config.optimizeScanBatch };
    const [a, b] = await Promise.all([asLearning(), asLearning()]);
    const queued = await Promise.all([
      runOptimizeScan(h.db, jetstream(a), options, silent),
      runOptimizeScan(h.db, jetstream(b), options, silent),
    ]);
    expect(queued[0]! + queued[1]!).toBe(2);
    const jobs = await queuedJobs();
    expect(jobs.sort((x, y) => x.userId.localeCompare(y.userId))).toEqual(
      [
        { userId: better.userId, reviewCount: better.reviewCount },
        { userId: worse.userId, reviewCount: worse.reviewCount },
      ].sort((x, y) => x.userId.localeCompare(y.userId)),
    );
    // A later scan inside the duplicate window adds nothing either.
    expect(await runOptimizeScan(h.db, jetstream(a), options, silent)).toBe(0);
    expect(await queuedJobs()).toHaveLength(2);
  });
});

/** Replays a card's history with `params` (ts-fsrs, review-day gaps): its stability and difficulty, and its last review. */
function replay(history: CardHistory, params: readonly number[]) {
  const model = new FSRSAlgorithm({ w: [...params], enable_short_term: true });
  const reviews = [...history.reviews].sort((a, b) => a.reviewedAt.getTime() - b.reviewedAt.getTime());
  let state = model.next_state(null, 0, gradeOf(reviews[0]!.rating));
  for (let i = 1; i < reviews.length; i++)
    state = model.next_state(
      state,
      dayNumber(reviews[i]!.reviewedAt) - dayNumber(reviews[i - 1]!.reviewedAt),
      gradeOf(reviews[i]!.rating),
    );
  return { ...state, last: reviews[reviews.length - 1]!.reviewedAt };
}

describe('the optimisation worker', () => {
  it('stores the fitted parameters and their calibration, and reschedules the review cards with them', async () => {
    const cardsBefore = await cardsOf(better.userId);
    const worseCardsBefore = await cardsOf(worse.userId);
    consumer = await startOptimizeConsumer(h.db, jetstream(await asLearning()), {
      maxDeliver: 3,
      rescheduleChunk: 40,
      logger: silent,
      clock: () => now,
    });
    await eventually('both jobs done', () => consumer!.done === 2, { timeoutMs: 60_000 });
    expect(await queuedJobs()).toEqual([]);

    // Calibration as the domain computes it on the same held-out reviews.
    const { heldOut } = splitHeldOut(better.simulation.histories);
    const settings = await h.db.learnerSettings.findUniqueOrThrow({ where: { userId: better.userId } });
    expect(settings.params).toHaveLength(21);
    expect(settings.optimizedReviewCount).toBe(better.reviewCount);
    expect(settings.optimizedAt).toEqual(now);
    const defaults = evaluate(DEFAULT_PARAMS, heldOut);
    const fitted = evaluate(settings.params, heldOut);
    const calibration = settings.calibration as unknown as FsrsCalibration;
    expect(calibration.heldOutReviews).toBe(defaults.count);
    expect(calibration.before.logLoss).toBeCloseTo(defaults.logLoss!, 10);
    expect(calibration.before.rmseBins).toBeCloseTo(defaults.rmseBins!, 10);
    expect(calibration.after.logLoss).toBeCloseTo(fitted.logLoss!, 10);
    expect(calibration.after.rmseBins).toBeCloseTo(fitted.rmseBins!, 10);
    expect(calibration.after.logLoss).toBeLessThan(calibration.before.logLoss);
    const view = await reviewSettingsView(h.db, better.userId);
    expect(view).toMatchObject({ optimized: true, reviewCount: better.reviewCount, calibration });

    // Review cards: memory replayed with the new parameters, due = last review + interval (not before now), version bumped.
    const model = new FSRSAlgorithm({
      w: settings.params,
      request_retention: settings.desiredRetention,
      enable_fuzz: false,
    });
    const simIdOf = new Map([...better.cardIds].map(([simId, id]) => [id, simId]));
    const histories = new Map(better.simulation.histories.map((x) => [x.cardId, x]));
    const after = new Map((await cardsOf(better.userId)).map((c) => [c.id, c]));
    const reviewCards = cardsBefore.filter((c) => c.state === 'REVIEW');
    expect(reviewCards.length).toBeGreaterThan(0);
    for (const before of cardsBefore) {
      const card = after.get(before.id)!;
      if (before.state !== 'REVIEW') {
        expect(card).toEqual(before);
        continue;
      }
      const expected = replay(histories.get(simIdOf.get(card.id)!)!, settings.params);
      expect(card.version).toBe(before.version + 1);
      expect(card.stability).toBeCloseTo(expected.stability, 9);
      expect(card.difficulty).toBeCloseTo(expected.difficulty, 9);
      const interval = model.next_interval(expected.stability, 0);
      expect(card.scheduledDays).toBe(interval);
      expect(card.due.getTime()).toBe(Math.max(expected.last.getTime() + interval * DAY_MS, now.getTime()));
    }

    // The new schedule is not the old one: memory moved with the parameters, and most cards are due later than now.
    expect(reviewCards.filter((c) => after.get(c.id)!.stability !== c.stability).length).toBe(reviewCards.length);
    expect(reviewCards.some((c) => after.get(c.id)!.due > now)).toBe(true);

    // The other learner: the fit lost to the defaults, which stay in force; calibration shows why; cards untouched.
    const kept = await h.db.learnerSettings.findUniqueOrThrow({ where: { userId: worse.userId } });
    expect(kept.params).toEqual([]);
    expect(kept.optimizedReviewCount).toBe(worse.reviewCount);
    const keptCalibration = kept.calibration as unknown as FsrsCalibration;
    expect(keptCalibration.after.logLoss).toBeGreaterThanOrEqual(keptCalibration.before.logLoss);
    expect((await reviewSettingsView(h.db, worse.userId)).optimized).toBe(false);
    expect(await cardsOf(worse.userId)).toEqual(worseCardsBefore);

    // Under the threshold: no job, nothing stored.
    expect(await h.db.learnerSettings.findUnique({ where: { userId: under.userId } })).toBeNull();
  });

  it('does nothing for a job already done (a redelivery), and the next scan queues nothing until reviews grow', async () => {
    const before = await cardsOf(better.userId);
    const settings = await h.db.learnerSettings.findUniqueOrThrow({ where: { userId: better.userId } });
    const outcome = await optimizeLearner(
      h.db,
      { userId: better.userId, reviewCount: better.reviewCount },
      { now: new Date(now.getTime() + 1000), rescheduleChunk: 40, logger: silent },
    );
    expect(outcome.kind).toBe('skipped');
    expect(await cardsOf(better.userId)).toEqual(before);
    expect(await h.db.learnerSettings.findUniqueOrThrow({ where: { userId: better.userId } })).toEqual(settings);
    const js = jetstream(await asLearning());
    const scan = { growth: h.config.reoptimizeGrowth, batch: h.config.optimizeScanBatch };
    expect(await runOptimizeScan(h.db, js, scan, silent)).toBe(0);
    expect(await queuedJobs()).toEqual([]);
  });

  it('gives up a job the optimiser refuses (no card reviewed on two days), and does not queue it again', async () => {
    const userId = newId();
    const courseId = await seedCourse(h.db);
    await enrol(h.db, userId, courseId);
    const cardId = newId();
    const day = new Date(now.getTime() - 2 * DAY_MS);
    await h.db.card.create({
      data: { id: cardId, userId, courseId, source: 'NOTE', sourceId: newId(), position: 0, due: day },
    });
    await h.db.reviewLog.createMany({
      data: Array.from({ length: MIN_REVIEWS_FOR_OPTIMIZATION }, (_, i) => ({
        id: newId(),
        cardId,
        userId,
        rating: 1 + (i % 4),
        stateBefore: 'LEARNING' as const,
        reviewedAt: new Date(day.getTime() + i * 1000),
        elapsedDays: 0,
        scheduledDays: 0,
        previous: {},
      })),
    });
    const givenUp = consumer!.givenUp;
    const js = jetstream(await asLearning());
    const scan = { growth: h.config.reoptimizeGrowth, batch: h.config.optimizeScanBatch };
    expect(await runOptimizeScan(h.db, js, scan, silent)).toBe(1);
    await eventually('the job given up', () => consumer!.givenUp === givenUp + 1);
    const settings = await h.db.learnerSettings.findUniqueOrThrow({ where: { userId } });
    expect(settings).toMatchObject({
      params: [],
      optimizedAt: null,
      calibration: null,
      optimizedReviewCount: MIN_REVIEWS_FOR_OPTIMIZATION,
    });
    expect(await runOptimizeScan(h.db, js, scan, silent)).toBe(0);
  });

  it('drops a malformed job without retrying it, changing nothing', async () => {
    const settingsBefore = await h.db.learnerSettings.findMany({ orderBy: { userId: 'asc' } });
    const givenUp = consumer!.givenUp;
    const js = jetstream(await asLearning());
    await js.publish(OPTIMIZE_SUBJECT, new TextEncoder().encode('{"userId":"not-a-uuid","reviewCount":-1}'));
    await eventually('malformed job given up', () => consumer!.givenUp === givenUp + 1);
    await eventually('queue empty', async () => (await queuedJobs()).length === 0);
    expect(await h.db.learnerSettings.findMany({ orderBy: { userId: 'asc' } })).toEqual(settingsBefore);
  });
});
