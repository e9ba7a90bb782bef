import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { EnrollmentEvents, NotificationEvents, PaymentEvents } from '@coursegraph/contracts';
import { newId } from '@coursegraph/service-kit';
import { consumers } from '../src/events/consumers.js';
import { startNotification, type NotificationHarness } from './harness.js';
import { emailsOf, enrolled, inboxOf, paid, publishCourse } from './fixtures.js';
import { eventually } from '@coursegraph/test-support';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotification();
});
afterAll(async () => {
  await h.close();
});

describe('events become notifications, in the inbox and by email', () => {
  it('an enrolment: an inbox entry, a notification.created event, and an email as received over SMTP', async () => {
    const { courseId, title } = await publishCourse(h, 'Rust for <TypeScript> developers');
    const me = await h.learner('ada');
    const eventId = await enrolled(h, me.userId, courseId);

    const [inbox] = await eventually(
      'inbox entry',
      async () => (await inboxOf(h, me.userId)).at(0) && inboxOf(h, me.userId),
    );
    expect(inbox).toMatchObject({
      type: 'ENROLLMENT_CREATED',
      category: 'ENROLLMENT',
      courseId,
      sourceEventId: eventId,
      readAt: null,
    });
    expect(inbox!.title).toBe(`You are enrolled in ${title}`);

    const created = await h.app.db.outboxEvent.findMany({ where: { subject: NotificationEvents.created.subject } });
    const mine = created
      .map((r) => fromBinary(NotificationEvents.created.schema, r.payload))
      .filter((p) => p.userId === me.userId);
    expect(mine).toMatchObject([
      {
        notificationId: inbox!.id,
        type: 'ENROLLMENT_CREATED',
        title: inbox!.title,
        body: inbox!.body,
        category: 'ENROLLMENT',
        courseId,
      },
    ]);

    const [mail] = await eventually('email', async () => h.smtp.to(me.email).length > 0 && h.smtp.to(me.email));
    expect(mail!.to).toEqual([me.email]);
    expect(mail!.parsed.subject).toBe(`You are enrolled in ${title}`);
    expect(mail!.parsed.from?.text).toContain('no-reply@coursegraph.dev');
    expect(mail!.parsed.text).toContain(`Hello ${me.name},`);
    expect(mail!.parsed.text).toContain(`Welcome to ${title}.`);
    // The title is escaped in HTML: it came from an instructor.
    expect(mail!.parsed.html).toContain('Rust for &lt;TypeScript&gt; developers');
    expect(mail!.parsed.messageId).toMatch(/@notification\.coursegraph\.dev>$/);
    await eventually('delivery marked sent', async () => (await emailsOf(h, me.userId))[0]?.status === 'SENT');
  });

  it('payments, refunds, completion and certificates each render their own template', async () => {
    const { courseId, title } = await publishCourse(h, 'Distributed systems');
    const me = await h.learner('grace');
    await paid(h, me.userId, courseId, 4900n);
    await h.publish(PaymentEvents.failed, {
      orderId: newId(),
      userId: me.userId,
      courseId,
      reason: 'DECLINED',
      failedAt: new Date().toISOString(),
    });
    await h.publish(PaymentEvents.refundIssued, {
      refundId: newId(),
      orderId: newId(),
      userId: me.userId,
      courseId,
      amount: { amountMinor: 4900n, currency: 'USD' },
      full: true,
      refundedAt: new Date().toISOString(),
    });
    await h.publish(EnrollmentEvents.courseCompleted, {
      enrollmentId: newId(),
      userId: me.userId,
      courseId,
      completedAt: new Date().toISOString(),
    });
    await h.publish(EnrollmentEvents.certificateIssued, {
      certificateId: newId(),
      publicId: 'CG-TEST-1234',
      enrollmentId: newId(),
      userId: me.userId,
      courseId,
      issuedAt: new Date().toISOString(),
    });
    const mails = await eventually('five emails', async () => h.smtp.to(me.email).length === 5 && h.smtp.to(me.email));
    const bySubject = new Map(mails.map((m) => [m.parsed.subject, m.parsed.text ?? '']));
    expect(bySubject.get(`Payment received for ${title}`)).toContain('$49.00');
    expect(bySubject.get(`Payment failed for ${title}`)).toContain('the card was declined');
    expect(bySubject.get(`Refund issued for ${title}`)).toContain('Your access to the course has ended.');
    expect(bySubject.get(`You completed ${title}`)).toContain('every required lesson');
    expect(bySubject.get(`Your certificate for ${title}`)).toContain('CG-TEST-1234');
    const inbox = await inboxOf(h, me.userId);
    expect(inbox.map((n) => n.type).sort()).toEqual([
      'CERTIFICATE_ISSUED',
      'COURSE_COMPLETED',
      'PAYMENT_FAILED',
      'PAYMENT_SUCCEEDED',
      'REFUND_ISSUED',
    ]);
    expect(new Set(inbox.map((n) => n.category))).toEqual(new Set(['PAYMENT', 'PROGRESS']));
  });

  it('a course update reaches its active learners only, by inbox now and by the weekly digest by default', async () => {
    const { courseId } = await publishCourse(h, 'Compilers');
    const [stays, leaves, never] = await Promise.all([h.learner('stays'), h.learner('leaves'), h.learner('never')]);
    const leavingEnrollment = newId();
    await enrolled(h, stays.userId, courseId);
    await enrolled(h, leaves.userId, courseId, { enrollmentId: leavingEnrollment });
    await h.publish(EnrollmentEvents.revoked, {
      enrollmentId: leavingEnrollment,
      userId: leaves.userId,
      courseId,
      reason: 'UNENROLLED',
      revokedAt: new Date().toISOString(),
    });
    await eventually(
      'revocation applied',
      async () =>
        (await h.app.db.courseLearner.findFirst({ where: { courseId, userId: leaves.userId, active: false } })) !==
        null,
    );

    await publishCourse(h, 'Compilers, second edition', courseId, 2);
    const [update] = await eventually('update in the inbox', async () => {
      const rows = (await inboxOf(h, stays.userId)).filter((n) => n.type === 'COURSE_UPDATED');
      return rows.length > 0 && rows;
    });
    expect(update!.title).toBe('Compilers, second edition was updated');
    expect((await inboxOf(h, leaves.userId)).filter((n) => n.type === 'COURSE_UPDATED')).toEqual([]);
    expect(await inboxOf(h, never.userId)).toEqual([]);
    // Email of course updates defaults to the weekly digest: held, not sent.
    expect(await h.app.db.digestEntry.findMany({ where: { userId: stays.userId } })).toMatchObject([
      { frequency: 'WEEKLY_DIGEST', type: 'COURSE_UPDATED' },
    ]);
    expect((await emailsOf(h, stays.userId)).map((e) => e.subject)).toEqual(['You are enrolled in Compilers']);
  });

  it('waits for a course title that lags on its own stream instead of sending a nameless notification', async () => {
    const me = await h.learner('patient');
    const courseId = newId();
    await enrolled(h, me.userId, courseId); // before the course event
    await new Promise((resolve) => setTimeout(resolve, 300));
    await publishCourse(h, 'Late title', courseId);
    const [n] = await eventually(
      'inbox entry',
      async () => (await inboxOf(h, me.userId)).length > 0 && inboxOf(h, me.userId),
    );
    expect(n!.title).toBe('You are enrolled in Late title');
  });
});

describe('exactly once', () => {
  it('a redelivered event (the consumer starts over from the stream) adds no notification and sends no email twice', async () => {
    const { courseId } = await publishCourse(h);
    const me = await h.learner('twice');
    const eventId = await enrolled(h, me.userId, courseId);
    await eventually('email', async () => h.smtp.to(me.email).length === 1);
    await eventually('sent', async () => (await emailsOf(h, me.userId))[0]?.status === 'SENT');

    // JetStream drops a re-published duplicate (same Nats-Msg-Id) outright.
    await enrolled(h, me.userId, courseId, { id: eventId });

    // Every event of the stream delivered again, as after lost acks: processed_events recognises them.
    await h.restartWorkersFromStart();
    // Then again with the consumer's memory wiped (a replay): the per-channel unique keys hold.
    await h.app.db.processedEvent.deleteMany({ where: { consumer: 'notification-enrollments' } });
    await h.restartWorkersFromStart();
    expect(await h.app.db.processedEvent.count({ where: { consumer: 'notification-enrollments', eventId } })).toBe(1);
    await h.sendDueMail();

    expect(await inboxOf(h, me.userId)).toHaveLength(1);
    expect(await emailsOf(h, me.userId)).toHaveLength(1);
    expect(h.smtp.to(me.email)).toHaveLength(1);
    const created = await h.app.db.outboxEvent.findMany({ where: { subject: NotificationEvents.created.subject } });
    expect(
      created
        .map((r) => fromBinary(NotificationEvents.created.schema, r.payload))
        .filter((p) => p.userId === me.userId),
    ).toHaveLength(1);
  });

  it('the consumers are declared for scripts/replay.mjs: projections can be rebuilt, the payment notifications cannot', () => {
    expect(Object.keys(consumers).sort()).toEqual([
      'notification-courses',
      'notification-enrollments',
      'notification-identity',
      'notification-learning',
      'notification-payments',
    ]);
    expect(consumers['notification-payments'].reset).toBeNull();
    expect(consumers['notification-learning'].reset).toBeNull();
    expect(consumers['notification-identity'].reset).toBeTypeOf('function');
  });
});
