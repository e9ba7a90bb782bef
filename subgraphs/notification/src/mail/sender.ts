/**
 * The mail sender: sends due rows of the mail outbox (email_deliveries) after the transaction that
 * wrote them committed. A row is claimed with `for update skip locked` for the time of its SMTP
 * exchange, so two senders never send it twice; a crash mid-send leaves it PENDING and it is sent
 * again (SMTP's own at-least-once, with the same Message-ID). Failures retry with exponential
 * backoff, then the row is marked FAILED.
 */
import type { Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import type { MailTransport } from './transport.js';

export interface MailSenderOptions {
  db: PrismaClient;
  transport: MailTransport;
  logger: Logger;
  /** Default 500 ms. */
  pollMs?: number;
  /** Attempts before FAILED; default 8. */
  maxAttempts?: number;
  /** Delay after the first failure, doubled per attempt, at most an hour; default 2000 ms. */
  retryBaseMs?: number;
  /** Default `() => new Date()`; tests move time. */
  clock?: () => Date;
  /** Rows claimed per transaction; default 1, so a crash sends again at most the message in hand. */
  batchSize?: number;
  /** Poll on a timer (default); false: only when sendDue() is called (tests). */
  poll?: boolean;
}

export interface MailSender {
  /** Sends every row due now; returns how many were handled (sent, failed or cancelled). */
  sendDue(): Promise<number>;
  readonly sent: number;
  readonly failures: number;
  /** Finishes the current batch and stops polling (the transport is closed by the owner). */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 3_600_000;
const messageIdOf = (deliveryId: string) => `<${deliveryId}@notification.coursegraph.dev>`;

export function createMailSender(options: MailSenderOptions): MailSender {
  const { db, transport, pollMs = 500, maxAttempts = 8, retryBaseMs = 2000, clock = () => new Date(), batchSize = 1, poll = true } = options;
  const log = options.logger.child({ component: 'mail-sender' });
  const counters = { sent: 0, failures: 0 };

  async function sendBatch(): Promise<number> {
    return db.$transaction(async (tx) => {
      const now = clock();
      const due = await tx.$queryRawUnsafe<{ id: string }[]>(
        `select id from notification.email_deliveries where status = 'PENDING' and next_attempt_at <= $1
         order by next_attempt_at, id limit $2 for update skip locked`,
        now, batchSize,
      );
      for (const { id } of due) {
        const row = await tx.emailDelivery.findUniqueOrThrow({ where: { id } });
        const recipient = await tx.recipient.findUnique({ where: { userId: row.userId }, select: { deactivatedAt: true } });
        if (recipient?.deactivatedAt) {
          await tx.emailDelivery.update({ where: { id }, data: { status: 'CANCELLED', lastError: 'recipient deactivated' } });
          continue;
        }
        try {
          await transport.send({ to: row.toAddress, subject: row.subject, text: row.text, html: row.html, messageId: messageIdOf(id) });
          await tx.emailDelivery.update({ where: { id }, data: { status: 'SENT', sentAt: clock(), attempts: row.attempts + 1, lastError: null } });
          counters.sent++;
          log.info({ deliveryId: id, userId: row.userId, dedupeKey: row.dedupeKey }, 'email sent');
        } catch (err) {
          counters.failures++;
          const attempts = row.attempts + 1;
          const giveUp = attempts >= maxAttempts;
          const delay = Math.min(retryBaseMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
          const lastError = (err as Error).message.slice(0, 1000);
          await tx.emailDelivery.update({
            where: { id },
            data: { attempts, lastError, status: giveUp ? 'FAILED' : 'PENDING', nextAttemptAt: new Date(clock().getTime() + delay) },
          });
          log.warn({ deliveryId: id, userId: row.userId, attempts, giveUp, retryInMs: giveUp ? null : delay, err: lastError }, 'email send failed');
        }
      }
      return due.length;
    }, { timeout: 120_000, maxWait: 10_000 });
  }

  async function sendDue(): Promise<number> {
    let handled = 0;
    for (;;) {
      const n = await sendBatch();
      handled += n;
      if (n < batchSize) return handled;
    }
  }

  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = sendDue()
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'mail sender: batch failed; retrying on the next poll'))
      .finally(() => { if (!stopping) timer = setTimeout(tick, pollMs); });
  };
  if (poll) timer = setTimeout(tick, 0);
  else stopping = true;

  return {
    sendDue,
    get sent() { return counters.sent; },
    get failures() { return counters.failures; },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await current;
    },
  };
}
