/**
 * The optimisation scanner: finds learners whose non-undone reviews reach
 * MIN_REVIEWS_FOR_OPTIMIZATION and have grown by the re-optimisation factor since their last
 * optimisation, and queues one job per learner on LEARNING_JOBS. Every replica scans; the job's
 * Nats-Msg-Id (learner and review count) lets JetStream keep one job when several publish at once.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import { MIN_REVIEWS_FOR_OPTIMIZATION } from '../domain/scheduling/optimizer.js';
import { publishOptimizeJob, type OptimizeJob } from './job-queue.js';

export interface OptimizeScanOptions {
  /** Re-optimise once reviews ≥ this × the count at the last optimisation. */
  growth: number;
  /** Most jobs per scan. */
  batch: number;
  /** Reviews needed for a first optimisation; default MIN_REVIEWS_FOR_OPTIMIZATION. */
  minReviews?: number;
}

/**
 * Learners due an optimisation, fewest-optimised first (a learner never optimised before one
 * re-optimised), at most `batch`. Counts every non-undone review: one aggregate over review_logs.
 */
export async function learnersToOptimize(db: PrismaClient, options: OptimizeScanOptions): Promise<OptimizeJob[]> {
  const min = options.minReviews ?? MIN_REVIEWS_FOR_OPTIMIZATION;
  const rows = await db.$queryRaw<{ user_id: string; reviews: number }[]>`
    select r.user_id::text as user_id, r.reviews
      from (select user_id, count(*)::int as reviews from review_logs where undone_at is null group by user_id) r
      left join learner_settings s on s.user_id = r.user_id
     where r.reviews >= ${min}
       and r.reviews >= coalesce(s.optimized_review_count, 0) * ${options.growth}::float8
     order by coalesce(s.optimized_review_count, 0), r.user_id
     limit ${options.batch}`;
  return rows.map((r) => ({ userId: r.user_id, reviewCount: r.reviews }));
}

/** One scan: queues the jobs; returns how many JetStream stored (duplicates of a job in the window are not counted). */
export async function runOptimizeScan(
  db: PrismaClient,
  js: JetStreamClient,
  options: OptimizeScanOptions,
  logger: Logger,
): Promise<number> {
  const jobs = await learnersToOptimize(db, options);
  let queued = 0;
  for (const job of jobs) if (await publishOptimizeJob(js, job)) queued++;
  if (jobs.length > 0) logger.info({ due: jobs.length, queued }, 'fsrs optimisation jobs queued');
  return queued;
}
