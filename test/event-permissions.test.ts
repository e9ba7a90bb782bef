/**
 * Events that cannot be forged (issue 12 point 4): every local NATS runs the generated users and
 * permissions (scripts/lib/nats-config.mjs), so a process without credentials can neither publish
 * `payment.payment.succeeded` nor read any stream, and a context publishes only its own subjects and
 * reads only the streams it consumes. Redis requires the generated password. Real servers: a NATS of
 * this suite's own with the same configuration as `npm start`'s, the test run's NATS and Redis.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { ensureStream, natsConnectOptions } from '@coursegraph/service-kit';
import { privateNats, type PrivateNats, redisUrl } from '@coursegraph/test-support';

const FORGED = 'payment.payment.succeeded';

let nats: PrivateNats;
let operator: NatsConnection;
let operatorJsm: JetStreamManager;
const opened: NatsConnection[] = [];

/** A connection as one of the generated users, closed after the suite. */
async function as(user: string): Promise<NatsConnection> {
  const nc = await connect(natsConnectOptions(nats.urlAs(user)));
  opened.push(nc);
  return nc;
}

/** Messages PAYMENT holds (0 when it does not exist yet). */
async function paymentMessages(): Promise<number> {
  const info = await operatorJsm.streams.info('PAYMENT').catch(() => null);
  return info?.state.messages ?? 0;
}

/** The first permission violation the server reports on `nc` (the client keeps the connection). */
function nextViolation(nc: NatsConnection): Promise<{ operation: string; subject: string }> {
  return (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && status.error.name === 'PermissionViolationError') {
        const error = status.error as Error & { operation: string; subject: string };
        return { operation: error.operation, subject: error.subject };
      }
    }
    throw new Error('connection closed without a permission violation');
  })();
}

/**
 * Speaks the NATS protocol by hand without credentials: CONNECT and PING, then `commands` only if
 * the server accepted (a PONG); resolves with every line the server sent until it closed the
 * connection or 3 s passed. Nothing is written after a refusal: the server closes the connection,
 * and bytes sent to a closed socket would reset it and lose the refusal on the way.
 */
function rawSession(url: string, commands: string): Promise<string[]> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let received = '';
    let sent = false;
    const socket = net.connect(Number(port), hostname);
    const done = () => (socket.destroy(), resolve(received.split('\r\n').filter(Boolean)));
    socket.setTimeout(3000, done);
    socket.once('data', () => socket.write('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n'));
    socket.on('data', (data) => {
      received += data.toString();
      if (!sent && received.includes('PONG\r\n')) {
        sent = true;
        socket.write(`${commands}PING\r\n`);
      }
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

beforeAll(async () => {
  nats = await privateNats();
  await nats.start();
  operator = await connect(natsConnectOptions(nats.url));
  operatorJsm = await jetstreamManager(operator);
  // The payment context's stream, as its relay declares it.
  await ensureStream(await jetstreamManager(await as('payment')), 'payment');
});

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  await operator?.close();
  await nats?.dispose();
});

describe('NATS without credentials', () => {
  it('is refused a connection, on a suite server and on the test run’s', async () => {
    await expect(connect({ servers: nats.bareUrl })).rejects.toThrow(/Authorization Violation/i);
    const testRun = natsConnectOptions(process.env.NATS_URL!).servers;
    await expect(connect({ servers: testRun })).rejects.toThrow(/Authorization Violation/i);
  });

  it('cannot publish payment.payment.succeeded nor read a stream: the server answers only with an error, and PAYMENT is unchanged', async () => {
    const before = await paymentMessages();
    const lines = await rawSession(
      nats.bareUrl,
      [
        `PUB ${FORGED} 2\r\n{}\r\n`,
        'SUB _INBOX.forged 1\r\n',
        'PUB $JS.API.STREAM.INFO.PAYMENT _INBOX.forged 0\r\n\r\n',
        'PUB $JS.API.CONSUMER.CREATE.PAYMENT _INBOX.forged 2\r\n{}\r\n',
      ].join(''),
    );
    expect(lines.filter((l) => !l.startsWith('INFO '))).toEqual([
      expect.stringMatching(/^-ERR 'Authorization Violation'/),
    ]);
    expect(await paymentMessages()).toBe(before);
  });
});

describe('NATS users per context', () => {
  it('lets payment publish its own event to its stream', async () => {
    const before = await paymentMessages();
    const ack = await jetstream(await as('payment')).publish(FORGED, new TextEncoder().encode('{}'));
    expect(ack.stream).toBe('PAYMENT');
    expect(await paymentMessages()).toBe(before + 1);
  });

  it('refuses course publishing payment.payment.succeeded: a permission violation, and PAYMENT is unchanged', async () => {
    const nc = await as('course');
    const before = await paymentMessages();
    const violation = nextViolation(nc);
    nc.publish(FORGED, new TextEncoder().encode('{}'));
    await nc.flush();
    expect(await violation).toEqual({ operation: 'publish', subject: FORGED });
    // Through JetStream's request too: refused, never acknowledged.
    await expect(jetstream(nc).publish(FORGED, new TextEncoder().encode('{}'), { timeout: 2000 })).rejects.toThrow(
      /permissions violation/i,
    );
    expect(await paymentMessages()).toBe(before);
  });

  it('refuses course a consumer on PAYMENT (it does not consume it), but not on ENROLLMENT (it does)', async () => {
    const jsm = await jetstreamManager(await as('course'));
    await expect(
      jsm.consumers.add('PAYMENT', { durable_name: 'course-spy', ack_policy: AckPolicy.Explicit }),
    ).rejects.toThrow(/permissions violation/i);
    await expect(jsm.streams.info('PAYMENT')).rejects.toThrow(/permissions violation/i);
    expect(await operatorJsm.consumers.info('PAYMENT', 'course-spy').catch(() => null)).toBeNull();
    // Its own consumption works: it may create the ENROLLMENT stream to start before enrollment.
    await ensureStream(jsm, 'enrollment');
    const created = await jsm.consumers.add('ENROLLMENT', {
      durable_name: 'course-permissions-test',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'enrollment.>',
    });
    expect(created.name).toBe('course-permissions-test');
  });

  it('refuses course reading other users’ replies or event subjects directly', async () => {
    const nc = await as('course');
    const violation = nextViolation(nc);
    nc.subscribe('_INBOX.>');
    await nc.flush();
    expect(await violation).toEqual({ operation: 'subscription', subject: '_INBOX.>' });
    const second = nextViolation(nc);
    nc.subscribe('payment.>');
    await nc.flush();
    expect(await second).toEqual({ operation: 'subscription', subject: 'payment.>' });
  });

  it('lets the gateway read streams and publish only its usage reports, and no context take another’s re-driven dead letters', async () => {
    const gateway = await as('gateway');
    const violation = nextViolation(gateway);
    gateway.publish('course.course.published', new TextEncoder().encode('{}'));
    await gateway.flush();
    expect(await violation).toEqual({ operation: 'publish', subject: 'course.course.published' });
    expect((await (await jetstreamManager(gateway)).streams.info('PAYMENT')).config.name).toBe('PAYMENT');
    // Its own GATEWAY stream (gateway/src/usage/reporter.ts), which identity consumes.
    await ensureStream(await jetstreamManager(gateway), 'gateway');
    const ack = await jetstream(gateway).publish('gateway.usage.reported', new TextEncoder().encode('{}'));
    expect(ack.stream).toBe('GATEWAY');
    const identity = await jetstreamManager(await as('identity'));
    const usage = await identity.consumers.add('GATEWAY', {
      durable_name: 'identity-usage-permissions-test',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'gateway.>',
    });
    expect(usage.num_pending).toBe(1);

    const enrollment = await jetstreamManager(await as('enrollment'));
    await expect(
      enrollment.consumers.add('REDRIVE', {
        durable_name: 'enrollment-spy',
        ack_policy: AckPolicy.Explicit,
        filter_subject: 'redrive.payment.>',
      }),
    ).rejects.toThrow(/permissions violation/i);
  });

  it('lets learning keep its LEARNING_JOBS work queue through its one consumer, and nobody else touch it', async () => {
    const learning = await as('learning');
    const jsm = await jetstreamManager(learning);
    await jsm.streams.add({
      name: 'LEARNING_JOBS',
      subjects: ['learning-jobs.>'],
      retention: RetentionPolicy.Workqueue,
    });
    await jsm.consumers.add('LEARNING_JOBS', {
      durable_name: 'learning-optimizer',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'learning-jobs.optimize',
    });
    const ack = await jetstream(learning).publish('learning-jobs.optimize', new TextEncoder().encode('{}'));
    expect(ack.stream).toBe('LEARNING_JOBS');
    const job = await (await jetstream(learning).consumers.get('LEARNING_JOBS', 'learning-optimizer')).next();
    expect(job?.seq).toBe(ack.seq);
    await job!.ackAck();
    expect((await operatorJsm.streams.info('LEARNING_JOBS')).state.messages).toBe(0);

    // Another consumer of its own on the queue, or any right of another service there: refused.
    await expect(
      jsm.consumers.add('LEARNING_JOBS', { durable_name: 'learning-spy', ack_policy: AckPolicy.Explicit }),
    ).rejects.toThrow(/permissions violation/i);
    const course = await as('course');
    await expect(
      jetstream(course).publish('learning-jobs.optimize', new TextEncoder().encode('{}'), { timeout: 2000 }),
    ).rejects.toThrow(/permissions violation/i);
    await expect((await jetstreamManager(course)).streams.info('LEARNING_JOBS')).rejects.toThrow(
      /permissions violation/i,
    );
    expect((await operatorJsm.streams.info('LEARNING_JOBS')).state.messages).toBe(0);
    expect(await operatorJsm.consumers.info('LEARNING_JOBS', 'learning-spy').catch(() => null)).toBeNull();
  });

  it('leaves a stream’s limits to its producer: a consumer’s refused update is skipped', async () => {
    // Search creates COURSE without limits when it starts first; enrollment consumes COURSE and may not update it.
    await operatorJsm.streams.add({ name: 'COURSE', subjects: ['course.>'] });
    await expect(ensureStream(await jetstreamManager(await as('enrollment')), 'course')).resolves.toBe('COURSE');
    expect((await operatorJsm.streams.info('COURSE')).config.max_age).toBe(0);
    await ensureStream(await jetstreamManager(await as('course')), 'course');
    expect((await operatorJsm.streams.info('COURSE')).config.max_age).toBeGreaterThan(0);
  });

  it('lets video publish its own events, read COURSE and ENROLLMENT through its durables and keep its VIDEO_JOBS queue; nothing more', async () => {
    const video = await as('video');
    const jsm = await jetstreamManager(video);
    const bytes = new TextEncoder().encode('{}');
    // Its own stream, as its outbox relay declares it.
    expect(await ensureStream(jsm, 'video')).toBe('VIDEO');
    expect((await jetstream(video).publish('video.video.ready', bytes)).stream).toBe('VIDEO');

    // The streams it projects, through the durables it uses (rust-subgraphs/video).
    await ensureStream(jsm, 'course');
    await ensureStream(jsm, 'enrollment');
    for (const [stream, durable] of [
      ['COURSE', 'video-courses'],
      ['ENROLLMENT', 'video-enrolments'],
    ]) {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        filter_subject: `${stream.toLowerCase()}.>`,
      });
    }
    const published = await jetstream(await as('course')).publish('course.course.published', bytes);
    const event = await (await jetstream(video).consumers.get('COURSE', 'video-courses')).next();
    expect(event?.seq).toBe(published.seq);
    await event!.ackAck();

    // Another context's subjects and streams: refused.
    const violation = nextViolation(video);
    video.publish('course.course.published', bytes);
    await video.flush();
    expect(await violation).toEqual({ operation: 'publish', subject: 'course.course.published' });
    await expect(
      jsm.consumers.add('PAYMENT', { durable_name: 'video-spy', ack_policy: AckPolicy.Explicit }),
    ).rejects.toThrow(/permissions violation/i);
    expect(await operatorJsm.consumers.info('PAYMENT', 'video-spy').catch(() => null)).toBeNull();

    // Its transcoding queue: jobs in and out through its one consumer; other services cannot touch it.
    await jsm.streams.add({ name: 'VIDEO_JOBS', subjects: ['video-jobs.>'], retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add('VIDEO_JOBS', {
      durable_name: 'video-transcoder',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'video-jobs.>',
    });
    const queued = await jetstream(video).publish('video-jobs.transcode', bytes);
    expect(queued.stream).toBe('VIDEO_JOBS');
    const job = await (await jetstream(video).consumers.get('VIDEO_JOBS', 'video-transcoder')).next();
    expect(job?.seq).toBe(queued.seq);
    await job!.ackAck();
    const learning = await as('learning');
    await expect(jetstream(learning).publish('video-jobs.transcode', bytes, { timeout: 2000 })).rejects.toThrow(
      /permissions violation/i,
    );
    await expect((await jetstreamManager(learning)).streams.info('VIDEO_JOBS')).rejects.toThrow(
      /permissions violation/i,
    );
    expect((await operatorJsm.streams.info('VIDEO_JOBS')).state.messages).toBe(0);
  });
});

describe('Redis', () => {
  it('refuses a client without the password (NOAUTH) and serves one with it', async () => {
    const withPassword = new URL(redisUrl());
    expect(withPassword.password).not.toBe('');
    const bare = new URL(withPassword);
    bare.password = '';
    const anonymous = new Redis(bare.toString(), {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      retryStrategy: () => null,
    });
    anonymous.on('error', () => {}); // the refusal is asserted below, not logged
    const client = new Redis(withPassword.toString(), { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await expect(anonymous.set('cg:permissions-test', 'forged')).rejects.toThrow(/NOAUTH/);
      expect(await client.ping()).toBe('PONG');
      expect(await client.get('cg:permissions-test')).toBeNull();
    } finally {
      anonymous.disconnect();
      client.disconnect();
    }
  });
});
