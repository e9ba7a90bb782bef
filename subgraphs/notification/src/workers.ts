/**
 * Notification's background work: the outbox relay (notification.notification.created for the
 * gateway's notificationAdded), one durable consumer per source stream, the course-update fan-out,
 * the mail sender and the digest job. Stopped in the returned order: consumers first (what they write
 * is still sent on the next start), then the fan-out (its chunk in hand commits), the digest job, the
 * mail sender and the relay.
 */
import { prismaTransaction, startConsumers, startOutboxRelay, type Logger } from '@coursegraph/service-kit';
import type { NotificationConfig } from './config.js';
import type { PrismaClient, Tx } from './data/db.js';
import { NOTIFICATION_CONTEXT } from './domain/deliver.js';
import { notificationConsumers } from './events/consumers.js';
import { startFanoutWorker } from './events/course-update-fanout.js';
import { startDigestJob } from './mail/digests.js';
import { createMailSender } from './mail/sender.js';
import { smtpTransport, type MailTransport } from './mail/transport.js';

export async function startWorkers(
  config: NotificationConfig,
  db: PrismaClient,
  logger: Logger,
  options: { transport?: MailTransport; clock?: () => Date } = {},
) {
  const relay = await startOutboxRelay({
    context: NOTIFICATION_CONTEXT,
    databaseUrl: config.databaseUrl,
    natsUrl: config.natsUrl,
    logger,
  });
  const eventConsumers = await startConsumers({
    context: NOTIFICATION_CONTEXT,
    consumers: notificationConsumers({ coalesceMinutes: config.courseUpdateCoalesceMinutes }),
    natsUrl: config.natsUrl,
    transaction: prismaTransaction<Tx>(db),
    logger,
  });
  const transport = options.transport ?? smtpTransport(config);
  const mail = createMailSender({
    db,
    transport,
    logger,
    pollMs: config.mailPollMs,
    maxAttempts: config.mailMaxAttempts,
    retryBaseMs: config.mailRetryBaseMs,
    outageBaseMs: config.mailOutageBaseMs,
    outageMaxMs: config.mailOutageMaxMs,
    clock: options.clock,
  });
  const digests = startDigestJob(db, logger, config.digestCheckMs, options.clock);
  const fanouts = startFanoutWorker(db, {
    chunkSize: config.courseUpdateFanoutChunk,
    pollMs: config.courseUpdateFanoutPollMs,
    logger,
    clock: options.clock,
  });
  const closeTransport = { stop: async () => transport.close() };
  return {
    relay,
    consumers: eventConsumers.consumers,
    mail,
    digests,
    fanouts,
    inOrder: [eventConsumers, fanouts, digests, mail, closeTransport, relay],
  };
}
