/**
 * A forged event changes nothing (issue 12 point 4): `payment.payment.succeeded` gives a learner paid
 * access to a course, so it is what a forger would publish. On a running platform (every service as
 * its own NATS user), the same forged event is refused without credentials and with another context's
 * (course's), and grants access only when published with payment's own credentials: the control that
 * shows the refusals are what protect the course. Enrollment applies PAYMENT in order, so once the
 * control's enrolment appears, the earlier forgeries would have been applied had they got through.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PaymentEvents } from '@coursegraph/contracts';
import { envelopeHeaders, natsConnectOptions, newId, newTraceparent } from '@coursegraph/service-kit';
import {
  type E2E,
  eventually,
  person,
  type Person,
  publishCourse,
  type PublishedCourse,
  startE2E,
  VIEWER_ENROLLMENT,
  withNatsUser,
} from '@coursegraph/test-support';

let e2e: E2E;
let course: PublishedCourse;
let operator: NatsConnection;

/** A well-formed payment.payment.succeeded for `learner` and the course, as payment's relay would publish it. */
function forged(learner: Person) {
  const event = PaymentEvents.succeeded;
  const id = newId();
  const data = toBinary(
    event.schema,
    create(event.schema, {
      orderId: newId(),
      paymentId: newId(),
      userId: learner.userId,
      courseId: course.courseId,
      amount: { amountMinor: 4900, currency: 'USD' },
      paidAt: new Date().toISOString(),
    }),
  );
  return {
    id,
    data,
    headers: envelopeHeaders({
      id,
      subject: event.subject,
      source: 'payment',
      time: new Date(),
      traceparent: newTraceparent(),
    }),
  };
}

const paymentLastSeq = async () => (await (await jetstreamManager(operator)).streams.info('PAYMENT')).state.last_seq;
const enrollmentOf = async (learner: Person) =>
  (await e2e.gql(VIEWER_ENROLLMENT, { c: course.courseId }, learner.token)).body.data?.course?.viewerEnrollment ?? null;

/**
 * Lines a connection without credentials gets: CONNECT and PING, then, only if the server accepted
 * (a PONG), a PUB of `bytes` on `subject`. Nothing is written after a refusal: the server closes the
 * connection, and bytes sent to a closed socket would reset it and lose the refusal on the way.
 */
function publishWithoutCredentials(subject: string, bytes: Uint8Array): Promise<string[]> {
  const { hostname, port } = new URL(natsConnectOptions(e2e.natsUrl).servers[0]!);
  return new Promise((resolve) => {
    let received = '';
    let published = false;
    const socket = net.connect(Number(port), hostname);
    const done = () => (socket.destroy(), resolve(received.split('\r\n').filter(Boolean)));
    socket.setTimeout(3000, done);
    socket.once('data', () => socket.write('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n'));
    socket.on('data', (d) => {
      received += d.toString();
      if (!published && received.includes('PONG\r\n')) {
        published = true;
        socket.write(
          Buffer.concat([Buffer.from(`PUB ${subject} ${bytes.length}\r\n`), bytes, Buffer.from('\r\nPING\r\n')]),
        );
      }
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

beforeAll(async () => {
  e2e = await startE2E('forged');
  const instructor = await person(e2e, 'INSTRUCTOR');
  course = await publishCourse(e2e.gql, instructor, {
    priceMinor: 4900,
    title: `Forgery-proof course ${newId().slice(-6)}`,
  });
  operator = await connect(natsConnectOptions(e2e.natsUrl));
});

afterAll(async () => {
  await operator?.close();
  await e2e?.platform.stop();
});

describe('a forged payment.payment.succeeded', () => {
  it('is refused without credentials and with course’s, and grants nothing; with payment’s own it would', async () => {
    const [anonymousVictim, courseVictim, control] = await Promise.all([person(e2e), person(e2e), person(e2e)]);
    const before = await paymentLastSeq();

    // No credentials: the server refuses the connection before it reads the PUB.
    await expect(connect({ servers: natsConnectOptions(e2e.natsUrl).servers })).rejects.toThrow(
      /Authorization Violation/i,
    );
    const lines = await publishWithoutCredentials(PaymentEvents.succeeded.subject, forged(anonymousVictim).data);
    expect(lines.filter((l) => !l.startsWith('INFO '))).toEqual([
      expect.stringMatching(/^-ERR 'Authorization Violation'/),
    ]);

    // Another context's credentials: a permission violation, never acknowledged by the stream.
    const asCourse = await connect(natsConnectOptions(withNatsUser(e2e.natsUrl, 'course')));
    try {
      const event = forged(courseVictim);
      await expect(
        jetstream(asCourse).publish(PaymentEvents.succeeded.subject, event.data, {
          msgID: event.id,
          headers: event.headers,
          timeout: 3000,
        }),
      ).rejects.toThrow(/permissions violation/i);
    } finally {
      await asCourse.close();
    }
    expect(await paymentLastSeq()).toBe(before);

    // The control: payment's own credentials, the same kind of event, and the learner is enrolled.
    const asPayment = await connect(natsConnectOptions(withNatsUser(e2e.natsUrl, 'payment')));
    try {
      const event = forged(control);
      await jetstream(asPayment).publish(PaymentEvents.succeeded.subject, event.data, {
        msgID: event.id,
        headers: event.headers,
      });
    } finally {
      await asPayment.close();
    }
    const enrolled = await eventually(
      'the control learner to be enrolled',
      async () => {
        const enrollment = await enrollmentOf(control);
        return enrollment?.status === 'ACTIVE' ? enrollment : null;
      },
      { timeoutMs: 60_000 },
    );
    expect(enrolled.mode).toBe('PAID');
    expect(await paymentLastSeq()).toBe(before + 1);

    // Applied in stream order: nothing before the control reached enrollment, so the victims have nothing.
    expect(await enrollmentOf(anonymousVictim)).toBeNull();
    expect(await enrollmentOf(courseVictim)).toBeNull();
  });
});
