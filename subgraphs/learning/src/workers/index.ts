/**
 * Learning's background work besides its event consumers and relay (main.ts starts those): the FSRS
 * optimisation scanner and worker on the LEARNING_JOBS work queue, the BKT fitting job and the daily
 * cards-due job. Every replica runs all of them; the work queue, the jobs' idempotent writes and
 * JetStream's duplicate detection keep replicas from doing a job twice (see each module).
 *
 * Stopped in the returned order: the scanner (no new jobs), the worker (its job in hand finishes),
 * the BKT and cards-due jobs (their run in hand finishes; what cards-due writes to the outbox is
 * published by the relay, which main.ts stops after these), then the NATS connection.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  connectNats,
  readConfig,
  startPeriodicJob,
  streamRetentionSettings,
  type Logger,
} from '@coursegraph/service-kit';
import type { LearningConfig } from '../config.js';
import type { PrismaClient } from '../data/db.js';
import { runBktFits } from './bkt-fitting.js';
import { cardsDueJob } from './cards-due.js';
import { ensureJobQueue } from './job-queue.js';
import { startOptimizeConsumer } from './optimize-consumer.js';
import { runOptimizeScan } from './optimize-scan.js';

export interface LearningWorkerOptions {
  /** The time jobs run at; default the wall clock (tests move it). */
  clock?: () => Date;
}

export async function startWorkers(
  config: LearningConfig,
  db: PrismaClient,
  logger: Logger,
  options: LearningWorkerOptions = {},
) {
  const clock = options.clock ?? (() => new Date());
  const nc = await connectNats(config.natsUrl, { name: 'learning-jobs', logger });
  try {
    await ensureJobQueue(await jetstreamManager(nc), readConfig(streamRetentionSettings).replicas);
  } catch (err) {
    await nc.close();
    throw err;
  }
  const js = jetstream(nc);
  const scanOptions = { growth: config.reoptimizeGrowth, batch: config.optimizeScanBatch };
  const scanner = startPeriodicJob(
    'fsrs-optimize-scan',
    config.optimizeCheckMs,
    () => runOptimizeScan(db, js, scanOptions, logger),
    logger,
  );
  const optimizer = await startOptimizeConsumer(db, js, {
    maxDeliver: config.optimizeMaxDeliver,
    rescheduleChunk: config.rescheduleChunk,
    logger,
    clock,
  });
  const bkt = startPeriodicJob(
    'bkt-fit',
    config.bktFitCheckMs,
    () => runBktFits(db, { minNew: config.bktRefitMinNew, batch: config.bktFitBatch, now: clock(), logger }),
    logger,
  );
  const due = cardsDueJob(db, { batch: config.cardsDueBatch, logger });
  const reminders = startPeriodicJob('cards-due', config.cardsDueCheckMs, () => due.run(clock()), logger);
  const closeNats = { stop: () => nc.drain() };
  return {
    scanner,
    optimizer,
    bkt,
    reminders,
    inOrder: [scanner, optimizer, bkt, reminders, closeNats],
  };
}
