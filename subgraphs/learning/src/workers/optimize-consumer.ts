/**
 * The optimisation worker: pulls jobs from LEARNING_JOBS through the durable consumer every replica
 * shares, one job at a time per replica, and acks each after its result is stored. A failed job is
 * tried again after a pause, up to `maxDeliver` deliveries in all (a replica that died mid-job
 * counts too: the delivery count is the server's), then given up: logged, and the learner waits
 * for their reviews to grow again (recordGivenUp). A malformed job or one the optimiser refuses
 * (BAD_USER_INPUT: e.g. no card reviewed on two different days) is not tried again.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { ErrorCode, isAppError, type Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import { decodeJob, JOB_ACK_WAIT_MS, JOBS_STREAM, OPTIMIZER_CONSUMER, type OptimizeJob } from './job-queue.js';
import { optimizeLearner, recordGivenUp } from './optimize-learner.js';

/** Pause before the 1st, 2nd, … retry of a failed job (the last repeats). */
const RETRY_DELAYS_MS = [5_000, 30_000, 120_000];

export interface OptimizeConsumerOptions {
  maxDeliver: number;
  rescheduleChunk: number;
  logger: Logger;
  /** The time results are stamped with; default the wall clock. */
  clock?: () => Date;
}

export interface OptimizeConsumer {
  /** Jobs finished (stored or skipped) by this replica. */
  readonly done: number;
  /** Jobs given up by this replica. */
  readonly givenUp: number;
  /** Stops pulling, finishes the job in hand, hands back what was buffered. */
  stop(): Promise<void>;
}

const permanent = (err: unknown) => isAppError(err) && err.extensions.code === ErrorCode.BAD_USER_INPUT;

export async function startOptimizeConsumer(
  db: PrismaClient,
  js: JetStreamClient,
  options: OptimizeConsumerOptions,
): Promise<OptimizeConsumer> {
  const log = options.logger.child({ component: 'fsrs-optimizer' });
  const clock = options.clock ?? (() => new Date());
  const counters = { done: 0, givenUp: 0 };
  const messages = await (await js.consumers.get(JOBS_STREAM, OPTIMIZER_CONSUMER)).consume({ max_messages: 1 });
  let stopping = false;

  async function giveUp(m: JsMsg, job: OptimizeJob | null, err: unknown): Promise<void> {
    counters.givenUp++;
    log.error(
      { job, deliveryCount: m.info.deliveryCount, err: (err as Error)?.message ?? String(err) },
      'fsrs optimisation job given up',
    );
    if (job) await recordGivenUp(db, job);
    m.term();
  }

  async function handle(m: JsMsg): Promise<void> {
    let job: OptimizeJob | null = null;
    try {
      job = decodeJob(m.data);
    } catch (err) {
      return giveUp(m, null, err);
    }
    // Deliveries past the limit: earlier ones died without an answer (e.g. the process was killed).
    if (m.info.deliveryCount > options.maxDeliver)
      return giveUp(m, job, new Error(`delivered ${m.info.deliveryCount} times without finishing`));
    const keepAlive = setInterval(() => m.working(), JOB_ACK_WAIT_MS / 3);
    try {
      const outcome = await optimizeLearner(db, job, {
        now: clock(),
        rescheduleChunk: options.rescheduleChunk,
        logger: log,
      });
      if (outcome.kind === 'skipped') log.info({ job, reason: outcome.reason }, 'fsrs optimisation job skipped');
      counters.done++;
      m.ack();
    } catch (err) {
      if (permanent(err) || m.info.deliveryCount >= options.maxDeliver) return giveUp(m, job, err);
      const delay = RETRY_DELAYS_MS[Math.min(m.info.deliveryCount - 1, RETRY_DELAYS_MS.length - 1)]!;
      log.warn(
        { job, deliveryCount: m.info.deliveryCount, retryInMs: delay, err: (err as Error).message },
        'fsrs optimisation job failed; it will be tried again',
      );
      m.nak(delay);
    } finally {
      clearInterval(keepAlive);
    }
  }

  const running = (async () => {
    for await (const m of messages) {
      if (stopping) {
        m.nak(); // back to the queue at once, for another replica
        continue;
      }
      try {
        await handle(m);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'fsrs optimisation worker: unexpected error');
        m.nak(RETRY_DELAYS_MS[0]);
      }
    }
  })().catch((err: unknown) =>
    log.error({ err: (err as Error).message }, 'fsrs optimisation worker: job stream failed; no more jobs are taken'),
  );

  let stopped: Promise<void> | undefined;
  return {
    get done() {
      return counters.done;
    },
    get givenUp() {
      return counters.givenUp;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const closed = messages.close();
        await running;
        await closed;
      })();
      return stopped;
    },
  };
}
