/**
 * Announcing a course update to the course's learners: coalesced per window, then fanned out in
 * bounded chunks.
 *
 * The course consumer only records the update (recordCourseUpdate, in its own short transaction):
 * the first update of a course starts a fan-out job whose window is [its time, its time + the
 * coalescing period); a later update whose time falls in that window is folded into it (before the
 * fan-out has started, its title and version replace the job's; after, it is only counted), so a
 * learner gets one COURSE_UPDATED per window, keyed by the window's first event. An update older
 * than the latest window (a replay) announces nothing: learners already heard of a newer one.
 *
 * The fan-out worker (runFanouts) then notifies the active learners in user-id order, one chunk
 * per transaction: the chunk's notifications and the job's cursor commit together, so a crash loses
 * at most the chunk in hand, which is done again from the cursor, and never notifies anyone twice
 * (the inbox, mail and digest rows are unique per user and source event besides).
 */
import type { Logger } from '@coursegraph/service-kit';
import { newId } from '@coursegraph/service-kit';
import type { PrismaClient, Tx } from '../data/db.js';
import { deliver } from '../domain/deliver.js';

export interface CourseUpdate {
  courseId: string;
  /** The course.course.updated event: the source of every learner's notification when it starts a window. */
  eventId: string;
  title: string;
  version: number;
  /** When the version was published (the snapshot's publishedAt, else the event's time). */
  at: Date;
}

export type RecordOutcome = 'started' | 'folded' | 'stale';

/**
 * Records an update in the consumer's transaction (which has just written the course's title row,
 * so concurrent updates of one course wait for each other on that row's lock).
 */
export async function recordCourseUpdate(
  tx: Tx,
  update: CourseUpdate,
  coalesceMinutes: number,
): Promise<RecordOutcome> {
  const latest = await tx.courseUpdateFanout.findFirst({
    where: { courseId: update.courseId },
    orderBy: { windowStartsAt: 'desc' },
  });
  if (latest && update.at < latest.windowStartsAt) return 'stale';
  if (latest && update.at < latest.windowEndsAt) {
    if (latest.sourceEventId === update.eventId) return 'folded'; // the window's own event, delivered again
    const notStarted = latest.cursor === null && latest.finishedAt === null;
    await tx.courseUpdateFanout.update({
      where: { id: latest.id },
      data: {
        foldedUpdates: { increment: 1 },
        // Learners not yet told hear of the newest version; once some were, all get the same text.
        ...(notStarted && update.version > latest.version ? { title: update.title, version: update.version } : {}),
      },
    });
    return 'folded';
  }
  const { count } = await tx.courseUpdateFanout.createMany({
    data: [
      {
        id: newId(),
        courseId: update.courseId,
        sourceEventId: update.eventId,
        title: update.title,
        version: update.version,
        windowStartsAt: update.at,
        windowEndsAt: new Date(update.at.getTime() + coalesceMinutes * 60_000),
      },
    ],
    skipDuplicates: true,
  });
  return count === 1 ? 'started' : 'folded';
}

export interface FanoutOptions {
  /** Learners per transaction. */
  chunkSize: number;
  logger: Logger;
  /** Time of the notifications (digest periods); default now. */
  clock?: () => Date;
}

/** The longest one chunk's transaction may take (measured about 8 ms per learner: 200 take about 1.5 s, 500 about 4 s). */
const CHUNK_TRANSACTION = { timeout: 30_000, maxWait: 10_000 };

/**
 * Notifies one chunk of learners of one unfinished fan-out (taken with `skip locked`, so workers of
 * several instances share the jobs). Returns the learners notified, or null when no job was free.
 */
export async function runFanoutChunk(
  db: PrismaClient,
  options: FanoutOptions,
): Promise<{ jobId: string; learners: number; finished: boolean } | null> {
  return db.$transaction(async (tx) => {
    const picked = await tx.$queryRaw<{ id: string }[]>`
      select id from course_update_fanouts where finished_at is null order by created_at, id limit 1 for update skip locked`;
    if (picked.length === 0) return null;
    const job = await tx.courseUpdateFanout.findUniqueOrThrow({ where: { id: picked[0]!.id } });
    const learners = await tx.courseLearner.findMany({
      where: { courseId: job.courseId, active: true, ...(job.cursor ? { userId: { gt: job.cursor } } : {}) },
      orderBy: { userId: 'asc' },
      take: options.chunkSize,
      select: { userId: true },
    });
    const now = options.clock?.() ?? new Date();
    for (const { userId } of learners) {
      // A learner whose address is not known yet still gets the inbox entry; one learner never holds back the others.
      await deliver(
        tx,
        {
          userId,
          courseId: job.courseId,
          eventId: job.sourceEventId,
          now,
          input: { type: 'COURSE_UPDATED', data: { courseTitle: job.title, version: job.version } },
        },
        { waitForRecipient: false },
      );
    }
    const finished = learners.length < options.chunkSize;
    await tx.courseUpdateFanout.update({
      where: { id: job.id },
      data: {
        notified: { increment: learners.length },
        ...(learners.length > 0 ? { cursor: learners.at(-1)!.userId } : {}),
        ...(finished ? { finishedAt: now } : {}),
      },
    });
    if (finished)
      options.logger.info(
        {
          courseId: job.courseId,
          fanoutId: job.id,
          notified: job.notified + learners.length,
          folded: job.foldedUpdates,
        },
        'course update announced',
      );
    return { jobId: job.id, learners: learners.length, finished };
  }, CHUNK_TRANSACTION);
}

/** Works through every unfinished fan-out, chunk by chunk; returns the chunks done. */
export async function runFanouts(db: PrismaClient, options: FanoutOptions): Promise<number> {
  let chunks = 0;
  while (await runFanoutChunk(db, options)) chunks++;
  return chunks;
}

export interface FanoutWorker {
  stop(): Promise<void>;
}

/** Runs the fan-outs every `pollMs` (and once at start); stopping lets the chunk in hand commit. */
export function startFanoutWorker(db: PrismaClient, options: FanoutOptions & { pollMs: number }): FanoutWorker {
  const log = options.logger.child({ component: 'course-update-fanout' });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const drain = async () => {
    while (!stopping && (await runFanoutChunk(db, { ...options, logger: log }))) {
      /* next chunk */
    }
  };
  const tick = () => {
    current = drain()
      .catch((err: unknown) =>
        log.error(
          { err: (err as Error).message },
          'course update fan-out failed; resuming from its cursor on the next run',
        ),
      )
      .finally(() => {
        if (!stopping) timer = setTimeout(tick, options.pollMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await current;
    },
  };
}
