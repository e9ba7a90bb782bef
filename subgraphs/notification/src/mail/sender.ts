/**
 * The mail sender: sends due rows of the mail outbox (email_deliveries) after the transaction that
 * wrote them committed. A row is claimed with `for update skip locked` for the time of its SMTP
 * exchange, so two senders never send it twice; a crash mid-send leaves it PENDING and it is sent
 * again (SMTP's own at-least-once, with the same Message-ID).
 *
 * Two kinds of failure:
 * - the message's own (the server refused its recipient or its content): the row spends one
 *   attempt and is retried with exponential backoff, then marked FAILED;
 * - the server's (unreachable, timed out, refusing every session: a MailServerUnavailableError
 *   from the transport): an outage, not the message's fault. The row keeps its attempts and stays
 *   PENDING (its last_error recorded), the batch stops, and the whole sender pauses with its own
 *   backoff (`outageBaseMs`, doubled per failed probe, at most `outageMaxMs`). When the pause ends
 *   one message is the probe: sent, and sending resumes; refused by the server again, a longer
 *   pause. One warning when an outage starts, one info line when it ends.
 */
import type { Logger } from '@coursegraph/service-kit';
import type { PrismaClient, Tx } from '../data/db.js';
import { MailServerUnavailableError, type MailTransport } from './transport.js';

export interface MailSenderOptions {
  db: PrismaClient;
  transport: MailTransport;
  logger: Logger;
  /** Default 500 ms. */
  pollMs?: number;
  /** Attempts before FAILED (failures of the message itself; an outage of the server spends none); default 8. */
  maxAttempts?: number;
  /** Delay after the first failure of a message, doubled per attempt, at most an hour; default 2000 ms. */
  retryBaseMs?: number;
  /** Pause of the whole sender after the server failed (unreachable, timed out, ...), doubled per failed probe; default 1000 ms. */
  outageBaseMs?: number;
  /** Longest such pause; default 60 000 ms. */
  outageMaxMs?: number;
  /** Default `() => new Date()`; tests move time. */
  clock?: () => Date;
  /** Rows claimed per transaction; default 1, so a crash sends again at most the message in hand. */
  batchSize?: number;
  /** Poll on a timer (default); false: only when sendDue() is called (tests). */
  poll?: boolean;
}

/** An ongoing outage of the mail server, as the sender sees it. */
export interface MailOutage {
  /** When the first send failed. */
  since: Date;
  /** Sends the server failed since then (the first one and every probe). */
  failedSends: number;
  /** The latest of those errors. */
  lastError: string;
  /** No message is sent before this time; then one, the probe. */
  nextProbeAt: Date;
}

export interface MailSender {
  /** Sends every row due now (nothing while paused by an outage); returns how many were handled (sent, failed or cancelled). */
  sendDue(): Promise<number>;
  readonly sent: number;
  /** Failures of messages themselves (each spent an attempt). */
  readonly failures: number;
  /** The ongoing outage of the mail server, or null while it takes mail. */
  readonly outage: MailOutage | null;
  /** Finishes the current batch and stops polling (the transport is closed by the owner). */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 3_600_000;
const messageIdOf = (deliveryId: string) => `<${deliveryId}@notification.coursegraph.dev>`;

export function createMailSender(options: MailSenderOptions): MailSender {
  const {
    db,
    transport,
    pollMs = 500,
    maxAttempts = 8,
    retryBaseMs = 2000,
    outageBaseMs = 1000,
    outageMaxMs = 60_000,
    clock = () => new Date(),
    batchSize = 1,
    poll = true,
  } = options;
  const log = options.logger.child({ component: 'mail-sender' });
  const counters = { sent: 0, failures: 0 };
  let outage: (MailOutage & { pauseMs: number }) | null = null;
  /**
   * Rows the server failed on in this process: claimed only after every other due row, so a message
   * that itself upsets the server (a failure the transport cannot tell from an outage) cannot hold
   * the queue. Emptied whenever nothing else is due, so it never outgrows the due rows.
   */
  const triedLast = new Set<string>();

  function serverFailed(lastError: string) {
    const now = clock();
    if (!outage) {
      outage = {
        since: now,
        failedSends: 1,
        lastError,
        pauseMs: outageBaseMs,
        nextProbeAt: new Date(now.getTime() + outageBaseMs),
      };
      log.warn(
        { err: lastError, retryInMs: outageBaseMs },
        'mail server unavailable: sending paused (no message spends an attempt on it)',
      );
      return;
    }
    const pauseMs = Math.min(outage.pauseMs * 2, outageMaxMs);
    outage = {
      ...outage,
      failedSends: outage.failedSends + 1,
      lastError,
      pauseMs,
      nextProbeAt: new Date(now.getTime() + pauseMs),
    };
    log.debug({ err: lastError, failedSends: outage.failedSends, retryInMs: pauseMs }, 'mail server still unavailable');
  }

  function serverAnswered() {
    if (!outage) return;
    log.info(
      { downForMs: clock().getTime() - outage.since.getTime(), failedSends: outage.failedSends },
      'mail server available again: sending resumed',
    );
    outage = null;
  }

  const claim = (tx: Tx, now: Date) =>
    tx.$queryRawUnsafe<{ id: string }[]>(
      `select id from notification.email_deliveries where status = 'PENDING' and next_attempt_at <= $1 and not (id = any($3::uuid[]))
     order by next_attempt_at, id limit $2 for update skip locked`,
      now,
      batchSize,
      [...triedLast],
    );

  /** One transaction: claims up to batchSize due rows and sends them, stopping at a failure of the server. */
  async function sendBatch(): Promise<{ claimed: number; handled: number; serverDown: boolean }> {
    return db.$transaction(
      async (tx) => {
        const now = clock();
        let due = await claim(tx, now);
        if (due.length === 0 && triedLast.size > 0) {
          triedLast.clear();
          due = await claim(tx, now);
        }
        let handled = 0;
        for (const { id } of due) {
          const row = await tx.emailDelivery.findUniqueOrThrow({ where: { id } });
          const recipient = await tx.recipient.findUnique({
            where: { userId: row.userId },
            select: { deactivatedAt: true },
          });
          if (recipient?.deactivatedAt) {
            await tx.emailDelivery.update({
              where: { id },
              data: { status: 'CANCELLED', lastError: 'recipient deactivated' },
            });
            handled++;
            continue;
          }
          try {
            await transport.send({
              to: row.toAddress,
              subject: row.subject,
              text: row.text,
              html: row.html,
              messageId: messageIdOf(id),
            });
            serverAnswered();
            await tx.emailDelivery.update({
              where: { id },
              data: { status: 'SENT', sentAt: clock(), attempts: row.attempts + 1, lastError: null },
            });
            counters.sent++;
            handled++;
            log.info({ deliveryId: id, userId: row.userId, dedupeKey: row.dedupeKey }, 'email sent');
          } catch (err) {
            const lastError = (err as Error).message.slice(0, 1000);
            if (err instanceof MailServerUnavailableError) {
              // Not the message's failure: no attempt spent, still due; the rest of the batch waits too.
              await tx.emailDelivery.update({ where: { id }, data: { lastError } });
              triedLast.add(id);
              serverFailed(lastError);
              return { claimed: due.length, handled, serverDown: true };
            }
            serverAnswered(); // it judged this message, so it is up
            counters.failures++;
            handled++;
            const attempts = row.attempts + 1;
            const giveUp = attempts >= maxAttempts;
            const delay = Math.min(retryBaseMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
            await tx.emailDelivery.update({
              where: { id },
              data: {
                attempts,
                lastError,
                status: giveUp ? 'FAILED' : 'PENDING',
                nextAttemptAt: new Date(clock().getTime() + delay),
              },
            });
            log.warn(
              {
                deliveryId: id,
                userId: row.userId,
                attempts,
                giveUp,
                retryInMs: giveUp ? null : delay,
                err: lastError,
              },
              'email send failed',
            );
          }
        }
        return { claimed: due.length, handled, serverDown: false };
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
  }

  async function sendDue(): Promise<number> {
    let handled = 0;
    for (;;) {
      if (outage && clock() < outage.nextProbeAt) return handled; // paused: not even a query
      const batch = await sendBatch();
      handled += batch.handled;
      if (batch.serverDown || batch.claimed < batchSize) return handled;
    }
  }

  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = sendDue()
      .catch((err: unknown) =>
        log.error({ err: (err as Error).message }, 'mail sender: batch failed; retrying on the next poll'),
      )
      .finally(() => {
        if (!stopping) timer = setTimeout(tick, pollMs);
      });
  };
  if (poll) timer = setTimeout(tick, 0);
  else stopping = true;

  return {
    sendDue,
    get sent() {
      return counters.sent;
    },
    get failures() {
      return counters.failures;
    },
    get outage() {
      if (!outage) return null;
      const { pauseMs: _pauseMs, ...visible } = outage;
      return visible;
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await current;
    },
  };
}
