/**
 * Notification served in-process (yoga.fetch) against the real test database, with its real
 * workers (consumers, relay, mail sender, digest job) on a NATS server of its own, a loopback SMTP
 * server, and locally signed tokens. Events are published to JetStream exactly as a producer's
 * relay publishes them (envelope headers, Nats-Msg-Id = event id).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { IdentityEvents } from '@coursegraph/contracts';
import {
  connectNats,
  createLogger,
  type EventInit,
  type EventType,
  ensureStream,
  newId,
  newTraceparent,
  readConfig,
} from '@coursegraph/service-kit';
import {
  contextDatabaseUrl,
  postGraphQL,
  privateNats,
  type PrivateNats,
  testIssuer,
  type TestIssuer,
  eventually,
} from '@coursegraph/test-support';
import { createNotificationApp, type NotificationApp } from '../src/app.js';
import { notificationSettings, type NotificationConfig } from '../src/config.js';
import { consumers } from '../src/events/consumers.js';
import { startWorkers } from '../src/workers.js';
import { startLoopbackSmtp, type LoopbackSmtp } from './smtp.js';

export interface NotificationHarness {
  app: NotificationApp;
  config: NotificationConfig;
  issuer: TestIssuer;
  smtp: LoopbackSmtp;
  nats: PrivateNats;
  gql: <T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ) => ReturnType<typeof postGraphQL<T>>;
  /** Publishes an event to its stream as a producer's relay would; returns its id. */
  publish: <E extends EventType>(type: E, payload: EventInit<E>, options?: { id?: string }) => Promise<string>;
  /**
   * A learner known to notification (identity.user.registered applied), with a token. Verified by
   * default (registered as demo accounts are); `verified: false` is a fresh sign-up's state.
   */
  learner: (
    tag?: string,
    options?: { verified?: boolean },
  ) => Promise<{ userId: string; email: string; name: string; token: string }>;
  /**
   * Stops the workers, deletes notification's durable consumers, starts again: every event of every
   * stream is delivered again (as after lost acks). Returns once all of them are acked.
   */
  restartWorkersFromStart: () => Promise<void>;
  /** Stops consumers, mail sender and digest job (events wait in NATS, mail in the outbox). */
  stopWorkers: () => Promise<void>;
  /** Stops only the polling mail sender (consumers go on; mail waits in the outbox) until the next startWorkers(). */
  stopMailSender: () => Promise<void>;
  startWorkers: () => Promise<void>;
  /** Sends what is due in the mail outbox now. */
  sendDueMail: () => Promise<number>;
  close: () => Promise<void>;
}

/** `env`: settings of this suite's notification (e.g. COURSE_UPDATE_FANOUT_CHUNK). */
export async function startNotification(env: Record<string, string> = {}): Promise<NotificationHarness> {
  const [nats, smtp, issuer] = await Promise.all([privateNats(), startLoopbackSmtp(), testIssuer()]);
  await nats.start();
  const config = readConfig(notificationSettings, {
    ...process.env,
    NOTIFICATION_DATABASE_URL: contextDatabaseUrl('notification'),
    NATS_URL: nats.url,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    MAIL_POLL_MS: '100',
    MAIL_RETRY_BASE_MS: '100',
    COURSE_UPDATE_FANOUT_POLL_MS: '100',
    ...env,
  });
  const logger = createLogger('notification-test', 'silent');
  const app = await createNotificationApp(config, logger, { getKey: issuer.getKey });
  let workers = await startWorkers(config, app.db, logger);
  const stopWorkers = async () => {
    for (const w of workers.inOrder) await w.stop();
  };

  const nc = await connectNats(nats.url, { name: 'notification-test-publisher', logger });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const streams = new Set<string>();

  const publish: NotificationHarness['publish'] = async (type, payload, { id = newId() } = {}) => {
    const context = type.subject.split('.')[0]!;
    if (!streams.has(context)) {
      await ensureStream(jsm, context);
      streams.add(context);
    }
    const h = natsHeaders();
    h.set('Nats-Msg-Id', id);
    h.set('ce-type', type.subject);
    h.set('ce-source', context);
    h.set('ce-time', new Date().toISOString());
    h.set('traceparent', newTraceparent());
    await js.publish(type.subject, toBinary(type.schema, create(type.schema, payload)), { headers: h, msgID: id });
    return id;
  };

  const gql: NotificationHarness['gql'] = (query, variables, token) =>
    postGraphQL((url, init) => app.yoga.fetch(url, init), 'http://notification.test/graphql', query, variables, token);

  const learner: NotificationHarness['learner'] = async (tag = 'learner', { verified = true } = {}) => {
    const { token, userId } = await issuer.token('LEARNER');
    const email = `${tag}-${userId}@test.coursegraph.dev`;
    const name = `${tag[0]!.toUpperCase()}${tag.slice(1)} ${userId.slice(0, 4)}`;
    const now = new Date().toISOString();
    await publish(IdentityEvents.userRegistered, {
      userId,
      email,
      name,
      role: 'LEARNER',
      registeredAt: now,
      emailVerifiedAt: verified ? now : '',
    });
    await eventually(`recipient ${userId}`, () => app.db.recipient.findUnique({ where: { userId } }));
    return { userId, email, name, token };
  };

  return {
    app,
    config,
    issuer,
    smtp,
    nats,
    gql,
    publish,
    learner,
    async restartWorkersFromStart() {
      await stopWorkers();
      const names = Object.entries(consumers).map(([name, c]) => ({ name, stream: c.stream }));
      for (const { name, stream } of names) await jsm.consumers.delete(stream, name).catch(() => undefined);
      workers = await startWorkers(config, app.db, logger);
      await eventually('every event delivered again and acked', async () => {
        const infos = await Promise.all(names.map(({ name, stream }) => jsm.consumers.info(stream, name)));
        return infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0);
      });
    },
    sendDueMail: () => workers.mail.sendDue(),
    stopWorkers,
    stopMailSender: () => workers.mail.stop(),
    async startWorkers() {
      workers = await startWorkers(config, app.db, logger);
    },
    async close() {
      await stopWorkers();
      await nc.close();
      await app.close();
      await smtp.close();
      await nats.dispose();
    },
  };
}
