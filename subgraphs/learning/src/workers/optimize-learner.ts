/**
 * One learner's FSRS optimisation (the job behind LEARNING_JOBS): their review history is split by
 * time (the last 20% held out); FSRS-6's defaults are scored on the held-out reviews (before), new
 * parameters are fitted on the earlier 80% with fsrs-rs and scored on the same reviews (after).
 *
 * The new parameters are kept only when they beat the defaults on held-out log loss; otherwise the
 * learner stays on (or goes back to) the defaults: `params` is left empty, so the graph shows
 * `optimized: false`, and the calibration is stored anyway (after = the rejected parameters) so the
 * learner and admins see why. Either way `optimizedReviewCount` records the count, so the next run
 * waits until the reviews have grown by the re-optimisation factor. When the parameters in force
 * change, the learner's REVIEW cards are rescheduled with them.
 */
import type { Logger } from '@coursegraph/service-kit';
import { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from '../data/db.js';
import { DEFAULT_SETTINGS, type FsrsCalibration } from '../domain/reviews.js';
import {
  MIN_REVIEWS_FOR_OPTIMIZATION,
  countReviews,
  evaluate,
  optimizeParameters,
  splitHeldOut,
  type Calibration,
} from '../domain/scheduling/optimizer.js';
import { DEFAULT_PARAMS } from '../domain/scheduling/scheduler.js';
import type { OptimizeJob } from './job-queue.js';
import { loadReviewHistory } from './review-history.js';
import { rescheduleReviewCards } from './reschedule.js';

export type OptimizeOutcome =
  /** Nothing to do: an optimisation at this count or later is stored already, or too few reviews are left (undone). */
  | { kind: 'skipped'; reason: string }
  | {
      kind: 'optimized';
      /** True when the fitted parameters beat the defaults and are now in force. */
      adopted: boolean;
      reviewCount: number;
      calibration: FsrsCalibration | null;
      rescheduled: number;
      /** Seconds fsrs-rs took to fit. */
      fitSeconds: number;
    };

export interface OptimizeLearnerOptions {
  now: Date;
  rescheduleChunk: number;
  logger: Logger;
  /** Reviews needed; default MIN_REVIEWS_FOR_OPTIMIZATION. */
  minReviews?: number;
}

const scored = (c: Calibration): c is Calibration & { logLoss: number; rmseBins: number } =>
  c.logLoss !== null && c.rmseBins !== null;

const sameParams = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((w, i) => w === b[i]);

export async function optimizeLearner(
  db: PrismaClient,
  job: OptimizeJob,
  options: OptimizeLearnerOptions,
): Promise<OptimizeOutcome> {
  const { now, logger } = options;
  const minReviews = options.minReviews ?? MIN_REVIEWS_FOR_OPTIMIZATION;
  const current = await db.learnerSettings.findUnique({ where: { userId: job.userId } });
  if (current && current.optimizedReviewCount >= job.reviewCount)
    return { kind: 'skipped', reason: `optimised at ${current.optimizedReviewCount} reviews already` };
  const { histories, reviewCount } = await loadReviewHistory(db, job.userId);
  if (reviewCount < minReviews) return { kind: 'skipped', reason: `${reviewCount} reviews, fewer than ${minReviews}` };

  const { train, heldOut } = splitHeldOut(histories);
  const before = evaluate(DEFAULT_PARAMS, heldOut);
  const started = performance.now();
  // The total was checked above; the training part (80%) is what the fit gets.
  const fitted = await optimizeParameters(train, { minReviews: 0 });
  const fitSeconds = (performance.now() - started) / 1000;
  const after = evaluate(fitted, heldOut);
  const calibration: FsrsCalibration | null =
    scored(before) && scored(after)
      ? {
          heldOutReviews: before.count,
          before: { logLoss: before.logLoss, rmseBins: before.rmseBins },
          after: { logLoss: after.logLoss, rmseBins: after.rmseBins },
        }
      : null;
  // Without scored held-out reviews nothing shows the fit is better: keep the defaults.
  const adopted = calibration !== null && calibration.after.logLoss < calibration.before.logLoss;
  const params = adopted ? fitted : [];

  const stored = await db.$transaction(async (tx) => {
    // Locked, so two workers finishing the same learner at once store one result: the later count wins.
    const [row] = await tx.$queryRaw<{ optimized_review_count: number }[]>`
      select optimized_review_count from learner_settings where user_id = ${job.userId}::uuid for update`;
    if (row && row.optimized_review_count >= reviewCount) return null;
    const data = {
      params,
      optimizedAt: now,
      optimizedReviewCount: reviewCount,
      calibration: calibration === null ? Prisma.DbNull : (calibration as unknown as Prisma.InputJsonValue),
    };
    return tx.learnerSettings.upsert({
      where: { userId: job.userId },
      create: { userId: job.userId, ...DEFAULT_SETTINGS, ...data },
      update: data,
    });
  });
  if (!stored) return { kind: 'skipped', reason: 'another worker stored a later optimisation' };

  const rescheduled = sameParams(current?.params ?? [], params)
    ? 0
    : await rescheduleReviewCards(db, {
        userId: job.userId,
        histories,
        params,
        desiredRetention: stored.desiredRetention,
        now,
        chunk: options.rescheduleChunk,
        logger,
      });
  logger.info(
    {
      userId: job.userId,
      reviewCount,
      adopted,
      calibration,
      rescheduled,
      fitSeconds: Number(fitSeconds.toFixed(2)),
      secondsPer10kReviews: Number(((fitSeconds * 10_000) / Math.max(1, countReviews(train))).toFixed(2)),
    },
    adopted ? 'fsrs parameters optimised' : 'fsrs optimisation kept the defaults (not better on held-out reviews)',
  );
  return { kind: 'optimized', adopted, reviewCount, calibration, rescheduled, fitSeconds };
}

/**
 * After the last try of a job failed: records the count as optimised (parameters and calibration
 * untouched), so scans wait for the reviews to grow by the factor again instead of queueing the
 * same failing job over and over.
 */
export async function recordGivenUp(db: PrismaClient, job: OptimizeJob): Promise<void> {
  await db.$executeRaw`
    insert into learner_settings (user_id, new_per_day, reviews_per_day, desired_retention, leech_threshold,
                                  params, optimized_review_count, updated_at)
    values (${job.userId}::uuid, ${DEFAULT_SETTINGS.newPerDay}, ${DEFAULT_SETTINGS.reviewsPerDay},
            ${DEFAULT_SETTINGS.desiredRetention}, ${DEFAULT_SETTINGS.leechThreshold}, '{}', ${job.reviewCount}, now())
    on conflict (user_id) do update
       set optimized_review_count = greatest(learner_settings.optimized_review_count, excluded.optimized_review_count),
           updated_at = now()`;
}
