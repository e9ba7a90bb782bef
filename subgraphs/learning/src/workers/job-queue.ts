/**
 * The LEARNING_JOBS work queue: FSRS optimisation jobs, one message per learner, taken by whichever
 * learning replica pulls it first (WorkQueue retention: a message is gone once acked). Not an event
 * stream: nothing outside learning reads it, so it is not in the event catalogue.
 */
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { badInput, isUuid } from '@coursegraph/service-kit';

export const JOBS_STREAM = 'LEARNING_JOBS';
/** Every job subject; only the learning NATS user may publish them (scripts/lib/nats-config.mjs). */
export const JOBS_SUBJECTS = 'learning-jobs.>';
export const OPTIMIZE_SUBJECT = 'learning-jobs.optimize';
/** The durable pull consumer every replica shares. */
export const OPTIMIZER_CONSUMER = 'learning-optimizer';
/**
 * Publishes with the same Nats-Msg-Id within this window are dropped: two replicas scanning at once
 * publish one job. Longer than the kit's 2 minutes for event streams, so that scans of the next few
 * minutes do not queue the same job again while it waits.
 */
export const JOBS_DUPLICATE_WINDOW_MS = 15 * 60_000;
/** A job not acked within this is delivered again; a running job keeps its claim (`working()`) every third of it. */
export const JOB_ACK_WAIT_MS = 60_000;
/** Jobs kept at most this long (they are redone from the next scan anyway). */
const JOBS_MAX_AGE_MS = 7 * 24 * 60 * 60_000;

/** One optimisation job: the learner and their non-undone review count when it was queued. */
export interface OptimizeJob {
  userId: string;
  reviewCount: number;
}

/** The job's Nats-Msg-Id: one job per learner and review count. */
export const optimizeJobId = (job: OptimizeJob): string => `optimize:${job.userId}:${job.reviewCount}`;

export function encodeJob(job: OptimizeJob): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ userId: job.userId, reviewCount: job.reviewCount }));
}

/** Reads a job message; refuses (BAD_USER_INPUT) anything else, so a malformed message is dropped, not retried. */
export function decodeJob(data: Uint8Array): OptimizeJob {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw badInput('An optimisation job is not JSON.', 'job');
  }
  const { userId, reviewCount } = (value ?? {}) as Record<string, unknown>;
  if (typeof userId !== 'string' || !isUuid(userId))
    throw badInput('An optimisation job has no valid userId.', 'userId');
  if (typeof reviewCount !== 'number' || !Number.isInteger(reviewCount) || reviewCount < 0)
    throw badInput('An optimisation job has no valid reviewCount.', 'reviewCount');
  return { userId: userId.toLowerCase(), reviewCount };
}

/**
 * Creates the work-queue stream and the shared durable consumer when missing (idempotent; replicas
 * starting together may race, and the loser finds them made). An existing stream or consumer is
 * left as it is. `replicas`: copies a JetStream cluster keeps (EVENT_STREAM_REPLICAS, like the event streams).
 */
export async function ensureJobQueue(jsm: JetStreamManager, replicas = 1): Promise<void> {
  const stream = await jsm.streams.info(JOBS_STREAM).catch(notFound);
  if (!stream) {
    await jsm.streams
      .add({
        name: JOBS_STREAM,
        subjects: [JOBS_SUBJECTS],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(JOBS_DUPLICATE_WINDOW_MS),
        max_age: nanos(JOBS_MAX_AGE_MS),
        num_replicas: replicas,
      })
      .catch(alreadyMade);
  }
  const consumer = await jsm.consumers.info(JOBS_STREAM, OPTIMIZER_CONSUMER).catch(notFound);
  if (!consumer) {
    await jsm.consumers
      .add(JOBS_STREAM, {
        durable_name: OPTIMIZER_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: OPTIMIZE_SUBJECT,
        ack_wait: nanos(JOB_ACK_WAIT_MS),
        // The worker counts deliveries itself (a crash mid-job counts too) and gives up: see optimize-consumer.ts.
        max_deliver: -1,
      })
      .catch(alreadyMade);
  }
}

function notFound(err: Error & { code?: number }): null {
  if (err.code === 10059 || err.code === 10014 || /not found/i.test(err.message)) return null;
  throw err;
}

function alreadyMade(err: Error): void {
  if (!/already in use|already exists|subjects overlap/i.test(err.message)) throw err;
}

/** Queues one job; true when JetStream stored it, false when it was a duplicate of one published within the window. */
export async function publishOptimizeJob(js: JetStreamClient, job: OptimizeJob): Promise<boolean> {
  // msgID is sent as the Nats-Msg-Id header.
  const ack = await js.publish(OPTIMIZE_SUBJECT, encodeJob(job), { msgID: optimizeJobId(job) });
  return !ack.duplicate;
}
