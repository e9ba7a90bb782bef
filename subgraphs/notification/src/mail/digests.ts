/**
 * The digest job: once a user's daily or weekly period has ended, every email held for it becomes
 * one message in the mail outbox (dedupe key `digest:<frequency>:<period>`, unique per user, so a
 * period is mailed once even with two jobs running). A timer runs it; tests call runDigests with a
 * clock of their own.
 */
import { newId, type Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import { describePeriod, periodOf, type DigestFrequency } from '../domain/periods.js';
import { emailBodies } from '../domain/templates.js';

const FREQUENCIES: DigestFrequency[] = ['DAILY_DIGEST', 'WEEKLY_DIGEST'];

/** Queues the digests of every period that ended before `now`; returns how many emails were queued. */
export async function runDigests(db: PrismaClient, now: Date, logger: Logger): Promise<number> {
  let queued = 0;
  for (const frequency of FREQUENCIES) {
    const current = periodOf(frequency, now);
    const groups = await db.digestEntry.groupBy({
      by: ['userId', 'period'],
      where: { frequency, emailDeliveryId: null, period: { lt: current } },
      orderBy: [{ period: 'asc' }, { userId: 'asc' }],
    });
    for (const { userId, period } of groups) {
      if (await queueDigest(db, { userId, frequency, period, current, now }, logger)) queued++;
    }
  }
  return queued;
}

async function queueDigest(
  db: PrismaClient,
  d: { userId: string; frequency: DigestFrequency; period: string; current: string; now: Date },
  logger: Logger,
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const entries = await tx.digestEntry.findMany({
      where: { userId: d.userId, frequency: d.frequency, period: d.period, emailDeliveryId: null },
      orderBy: { queuedAt: 'asc' },
    });
    if (entries.length === 0) return false;
    const ids = entries.map((e) => e.id);
    const recipient = await tx.recipient.findUnique({ where: { userId: d.userId } });
    if (!recipient || recipient.deactivatedAt) {
      await tx.digestEntry.deleteMany({ where: { id: { in: ids } } });
      logger.info(
        { userId: d.userId, frequency: d.frequency, period: d.period, dropped: ids.length },
        'digest dropped: no active recipient',
      );
      return false;
    }
    const count = entries.length;
    const subject = `Your Coursegraph digest: ${count} notification${count === 1 ? '' : 's'} ${describePeriod(d.frequency, d.period)}`;
    const { text, html } = emailBodies(recipient.name || 'there', [
      `Here is what happened ${describePeriod(d.frequency, d.period)}:`,
      ...entries.map((e) => `${e.subject}\n${e.text}`),
    ]);
    const deliveryId = newId();
    const { count: created } = await tx.emailDelivery.createMany({
      data: [
        {
          id: deliveryId,
          userId: d.userId,
          dedupeKey: `digest:${d.frequency}:${d.period}`,
          toAddress: recipient.email,
          subject,
          text,
          html,
        },
      ],
      skipDuplicates: true,
    });
    if (created === 0) {
      // That period was already mailed (these entries arrived late): they go out with the current one.
      await tx.digestEntry.updateMany({ where: { id: { in: ids } }, data: { period: d.current } });
      return false;
    }
    await tx.digestEntry.updateMany({ where: { id: { in: ids } }, data: { emailDeliveryId: deliveryId } });
    logger.info(
      { userId: d.userId, frequency: d.frequency, period: d.period, entries: count, deliveryId },
      'digest queued',
    );
    return true;
  });
}

export interface DigestJob {
  stop(): Promise<void>;
}

/** Runs the digest job every `intervalMs` (and once at start). */
export function startDigestJob(
  db: PrismaClient,
  logger: Logger,
  intervalMs: number,
  clock: () => Date = () => new Date(),
): DigestJob {
  const log = logger.child({ component: 'digest-job' });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = runDigests(db, clock(), log)
      .catch((err: unknown) =>
        log.error({ err: (err as Error).message }, 'digest job failed; retrying on the next run'),
      )
      .finally(() => {
        if (!stopping) timer = setTimeout(tick, intervalMs);
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
