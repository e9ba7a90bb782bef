/**
 * Certificates and money: a full refund revokes the certificate earned with the order, and its
 * public verification says so; a partial refund, or unenrolling, does not. Payment events are
 * delivered to enrollment's own handlers, in a transaction, as its consumer does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  EnrollmentEvents,
  PaymentEvents,
  course as courseContract,
  payment,
  type EventType,
} from '@coursegraph/contracts';
import { newId, type ReceivedEvent } from '@coursegraph/service-kit';
import { errorCode } from '@coursegraph/test-support';
import { applySnapshot } from '../src/events/course-projection.js';
import { paymentHandlers } from '../src/events/payments.js';
import { startEnrollment, type EnrollmentHarness } from './harness.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const ENROL = `mutation($c: ID!, $m: EnrollmentMode) { enrol(courseId: $c, mode: $m) { id mode status } }`;
const CERTIFICATE_FIELDS = 'publicId courseTitle issuedAt revoked revokedAt revokeReason holder { id } course { id }';
const COMPLETE = `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { status mode certificate { ${CERTIFICATE_FIELDS} } } }`;
const UNENROL = `mutation($c: ID!) { unenrol(courseId: $c) { status revokeReason } }`;
const VERIFY = `query($p: String!) { certificate(publicId: $p) { ${CERTIFICATE_FIELDS} } }`;
const MINE = `{ myEnrollments { edges { node { status mode certificate { ${CERTIFICATE_FIELDS} } } } } }`;

let h: EnrollmentHarness;
beforeAll(async () => {
  h = await startEnrollment();
});
afterAll(async () => {
  await h.close();
});

/** Hands a payment event to enrollment's handler for it, as the PAYMENT consumer would. */
async function deliver<E extends EventType>(type: E, payload: ReceivedEvent<E>['payload']): Promise<void> {
  const handler = paymentHandlers.find((x) => x.type === type)!;
  const event = {
    id: newId(),
    type: type.subject,
    source: 'payment',
    time: new Date().toISOString(),
    traceparent: TRACEPARENT,
    streamSequence: 1,
    deliveryCount: 1,
    payload,
  };
  await h.app.db.$transaction((tx) => handler.handle(tx, event as ReceivedEvent));
}

const paid = (orderId: string, userId: string, courseId: string) =>
  deliver(
    PaymentEvents.succeeded,
    create(payment.PaymentSucceededSchema, {
      orderId,
      paymentId: randomUUID(),
      userId,
      courseId,
      amount: { amountMinor: 9900n, currency: 'USD' },
      paidAt: new Date().toISOString(),
    }),
  );

const refunded = (orderId: string, userId: string, courseId: string, full: boolean) =>
  deliver(
    PaymentEvents.refundIssued,
    create(payment.RefundIssuedSchema, {
      refundId: randomUUID(),
      orderId,
      userId,
      courseId,
      amount: { amountMinor: full ? 9900n : 1000n, currency: 'USD' },
      full,
      refundedAt: new Date().toISOString(),
    }),
  );

const verify = async (publicId: string) => (await h.gql(VERIFY, { p: publicId })).body.data!.certificate;

/** A learner who bought a paid course and completed it: their certificate. */
async function boughtAndCompleted(lessons = 2) {
  const { courseId, lessonIds } = await h.course({ price: 9900, lessons });
  const { token, userId } = await h.issuer.token();
  const orderId = randomUUID();
  await paid(orderId, userId, courseId);
  let last: any;
  for (const l of lessonIds) last = (await h.gql(COMPLETE, { c: courseId, l }, token)).body.data!.completeLesson;
  expect(last).toMatchObject({
    status: 'COMPLETED',
    mode: 'PAID',
    certificate: { revoked: false, revokedAt: null, revokeReason: null },
  });
  return { courseId, lessonIds, token, userId, orderId, certificate: last.certificate };
}

describe('a full refund', () => {
  it('revokes the certificate in the same transaction; verification and the learner both see when and why', async () => {
    const { courseId, userId, token, orderId, certificate } = await boughtAndCompleted();
    expect(await verify(certificate.publicId)).toEqual(certificate);

    await refunded(orderId, userId, courseId, true);

    const enrollment = await h.app.db.enrollment.findFirstOrThrow({ where: { userId, courseId } });
    expect(enrollment).toMatchObject({ status: 'REVOKED', revokeReason: 'REFUNDED' });
    const expected = {
      ...certificate,
      revoked: true,
      revokedAt: enrollment.revokedAt!.toISOString(),
      revokeReason: 'REFUNDED',
    };
    // Anyone, signed in or not, reads the revocation.
    expect(await verify(certificate.publicId)).toEqual(expected);
    expect((await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges).toEqual([
      { node: { status: 'REVOKED', mode: 'PAID', certificate: expected } },
    ]);

    const events = await h.outbox(EnrollmentEvents.certificateRevoked, (p) => p.userId === userId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      publicId: certificate.publicId,
      enrollmentId: enrollment.id,
      userId,
      courseId,
      reason: 'REFUNDED',
      revokedAt: enrollment.revokedAt!.toISOString(),
    });
    const row = await h.app.db.certificate.findUniqueOrThrow({ where: { publicId: certificate.publicId } });
    expect(events[0].certificateId).toBe(row.id);

    // The same refund delivered again revokes and announces nothing more.
    await refunded(orderId, userId, courseId, true);
    expect(await h.outbox(EnrollmentEvents.certificateRevoked, (p) => p.userId === userId)).toHaveLength(1);
    expect(await verify(certificate.publicId)).toEqual(expected);
  });

  it('a partial refund revokes neither the access nor the certificate', async () => {
    const { courseId, userId, orderId, certificate } = await boughtAndCompleted();
    await refunded(orderId, userId, courseId, false);
    expect((await h.app.db.enrollment.findFirstOrThrow({ where: { userId, courseId } })).status).toBe('COMPLETED');
    expect(await verify(certificate.publicId)).toEqual(certificate);
    expect(await h.outbox(EnrollmentEvents.certificateRevoked, (p) => p.userId === userId)).toHaveLength(0);
  });

  it('of an order not yet completed leaves no certificate to revoke, and announces none', async () => {
    const { courseId, lessonIds } = await h.course({ price: 9900, lessons: 2 });
    const { token, userId } = await h.issuer.token();
    const orderId = randomUUID();
    await paid(orderId, userId, courseId);
    await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token);
    await refunded(orderId, userId, courseId, true);
    expect((await h.app.db.enrollment.findFirstOrThrow({ where: { userId, courseId } })).status).toBe('REVOKED');
    expect(await h.app.db.certificate.count({ where: { userId } })).toBe(0);
    expect(await h.outbox(EnrollmentEvents.certificateRevoked, (p) => p.userId === userId)).toHaveLength(0);
  });
});

describe('unenrolling', () => {
  it('keeps an earned certificate, and completing again after enrolling again issues no second one', async () => {
    const { courseId, lessonIds } = await h.course({ lessons: 1 });
    const { token, userId } = await h.issuer.token();
    await h.gql(ENROL, { c: courseId }, token);
    const { certificate } = (await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token)).body.data!.completeLesson;
    expect((await h.gql(UNENROL, { c: courseId }, token)).body.data!.unenrol).toEqual({
      status: 'REVOKED',
      revokeReason: 'UNENROLLED',
    });
    expect(await verify(certificate.publicId)).toEqual(certificate);
    expect(await h.outbox(EnrollmentEvents.certificateRevoked, (p) => p.userId === userId)).toHaveLength(0);

    expect((await h.gql(ENROL, { c: courseId }, token)).body.data!.enrol.status).toBe('ACTIVE');
    const again = (await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token)).body.data!.completeLesson;
    expect(again).toMatchObject({ status: 'COMPLETED', certificate });
    expect(await h.app.db.certificate.count({ where: { userId } })).toBe(1);
    expect(await h.outbox(EnrollmentEvents.certificateIssued, (p) => p.userId === userId)).toHaveLength(1);
  });
});

describe('buying again after a refund', () => {
  it('with every lesson still done, completes at once with a new certificate; the old id still verifies as revoked', async () => {
    const { courseId, userId, token, orderId, certificate } = await boughtAndCompleted();
    await refunded(orderId, userId, courseId, true);
    const revoked = await verify(certificate.publicId);

    await paid(randomUUID(), userId, courseId);
    const [mine] = (await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges;
    expect(mine.node).toMatchObject({
      status: 'COMPLETED',
      mode: 'PAID',
      certificate: { revoked: false, revokedAt: null, revokeReason: null, holder: { id: userId } },
    });
    expect(mine.node.certificate.publicId).not.toBe(certificate.publicId);
    expect(await verify(mine.node.certificate.publicId)).toEqual(mine.node.certificate);
    expect(await verify(certificate.publicId)).toEqual(revoked);
    expect(revoked.revoked).toBe(true);
    expect(await h.app.db.certificate.count({ where: { userId } })).toBe(2);
    expect(await h.outbox(EnrollmentEvents.certificateIssued, (p) => p.userId === userId)).toHaveLength(2);
    expect(await h.outbox(EnrollmentEvents.courseCompleted, (p) => p.userId === userId)).toHaveLength(2);
  });

  it('with a lesson left to do, stays active until it is done, then issues a new certificate', async () => {
    const { courseId, lessonIds, userId, token, orderId, certificate } = await boughtAndCompleted(1);
    await refunded(orderId, userId, courseId, true);
    // The instructor adds a lesson meanwhile: the learner has one more to do.
    const added = randomUUID();
    const lessons = [...lessonIds, added].map((lessonId, position) => ({
      lessonId,
      position,
      required: false,
      title: `L${position}`,
    }));
    await h.app.db.$transaction((tx) =>
      applySnapshot(
        tx,
        create(courseContract.CourseSnapshotSchema, {
          courseId,
          version: 2,
          instructorId: randomUUID(),
          title: 'Same course, one lesson more',
          price: { amountMinor: 9900n, currency: 'USD' },
          lessons,
        }),
      ),
    );

    await paid(randomUUID(), userId, courseId);
    const [mine] = (await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges;
    // Before completing again, the learner sees the certificate they lost.
    expect(mine.node).toMatchObject({
      status: 'ACTIVE',
      mode: 'PAID',
      certificate: { publicId: certificate.publicId, revoked: true },
    });

    const done = (await h.gql(COMPLETE, { c: courseId, l: added }, token)).body.data!.completeLesson;
    expect(done).toMatchObject({
      status: 'COMPLETED',
      certificate: { revoked: false, courseTitle: 'Same course, one lesson more' },
    });
    expect(done.certificate.publicId).not.toBe(certificate.publicId);
    expect(await verify(certificate.publicId)).toMatchObject({ revoked: true, revokeReason: 'REFUNDED' });
  });

  it('the database itself refuses a second certificate in force for one enrolment', async () => {
    const { userId, certificate } = await boughtAndCompleted(1);
    const row = await h.app.db.certificate.findUniqueOrThrow({ where: { publicId: certificate.publicId } });
    await expect(
      h.app.db.certificate.create({
        data: { ...row, id: newId(), publicId: `CG-${randomUUID().slice(0, 4).toUpperCase()}-X` },
      }),
    ).rejects.toThrow(/Unique constraint/i);
    expect(await h.app.db.certificate.count({ where: { userId } })).toBe(1);
  });
});

describe('AUDIT', () => {
  it('completes without a certificate; paying afterwards makes it PAID and issues the certificate', async () => {
    const { courseId, lessonIds } = await h.course({ price: 9900, lessons: 1 });
    const { token, userId } = await h.issuer.token();
    expect((await h.gql(ENROL, { c: courseId, m: 'AUDIT' }, token)).body.data!.enrol).toMatchObject({
      mode: 'AUDIT',
      status: 'ACTIVE',
    });
    const audited = (await h.gql(COMPLETE, { c: courseId, l: lessonIds[0] }, token)).body.data!.completeLesson;
    expect(audited).toEqual({ status: 'COMPLETED', mode: 'AUDIT', certificate: null });
    expect(await h.app.db.certificate.count({ where: { userId } })).toBe(0);
    expect(await h.outbox(EnrollmentEvents.certificateIssued, (p) => p.userId === userId)).toHaveLength(0);

    await paid(randomUUID(), userId, courseId);
    const [mine] = (await h.gql(MINE, {}, token)).body.data!.myEnrollments.edges;
    expect(mine.node).toMatchObject({
      status: 'COMPLETED',
      mode: 'PAID',
      certificate: { revoked: false, holder: { id: userId }, course: { id: courseId } },
    });
    expect(await h.outbox(EnrollmentEvents.certificateIssued, (p) => p.userId === userId)).toHaveLength(1);
  });
});

describe('verification', () => {
  it('forgives case and spaces around an id', async () => {
    const { certificate } = await boughtAndCompleted(1);
    expect(await verify(`  ${certificate.publicId.toLowerCase()} `)).toEqual(certificate);
  });

  it('answers null for a well-formed id nobody holds', async () => {
    expect(await verify('CG-AAAA-BBBB-CCCC-DDDD-EEEE')).toBeNull();
  });

  it('refuses ids of the wrong form with a clear error that does not echo them', async () => {
    const hostile = [
      '',
      'garbage',
      "CG-AAAA-AAAA-AAAA-AAAA-AAAA' OR '1'='1",
      'CG-0000-1111-AAAA-AAAA-AAAA',
      'CG-AAAA-AAAA-AAAA-AAAA',
      `CG-${'AAAA-'.repeat(500)}AAAA`,
      'CG-AAAA-AAAA-AAAA-AAAA-AAAA\u0000',
      '%',
      '<script>alert(1)</script>',
    ];
    for (const p of hostile) {
      const res = await h.gql(VERIFY, { p });
      expect(errorCode(res), JSON.stringify(p)).toBe('BAD_USER_INPUT');
      expect(res.body.errors![0]!.extensions!.field).toBe('publicId');
      expect(res.body.errors![0]!.message).toMatch(/^Not a certificate id/);
      if (p.length > 0) expect(res.body.errors![0]!.message).not.toContain(p);
      expect(res.body.data?.certificate ?? null).toBeNull();
    }
  });
});
