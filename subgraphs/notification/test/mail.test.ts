import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityEvents } from '@coursegraph/contracts';
import { createLogger, newId } from '@coursegraph/service-kit';
import { runDigests } from '../src/mail/digests.js';
import { createMailSender } from '../src/mail/sender.js';
import { smtpTransport } from '../src/mail/transport.js';
import { startNotification, type NotificationHarness } from './harness.js';
import { emailsOf, enrolled, inboxOf, paid, publishCourse, queuedEmail } from './fixtures.js';
import { eventually } from '@coursegraph/test-support';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotification();
});
afterAll(async () => {
  await h.close();
});

const silent = createLogger('notification-test', 'silent');
const DAY = 86_400_000;

async function prefer(token: string, category: string, channel: string, frequency: string) {
  const res = await h.gql(
    `mutation($i: UpdateNotificationPreferenceInput!) { updateNotificationPreference(input: $i) { frequency } }`,
    { i: { category, channel, frequency } },
    token,
  );
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
}

const pendingEmail = (address: string) => queuedEmail(h, address);

describe('the mail outbox', () => {
  it('a delivery committed but not yet sent (a crash before sending) is sent once after the restart, never twice', async () => {
    const address = `crash-${newId()}@test.coursegraph.dev`;
    const row = await pendingEmail(address);
    const transport = smtpTransport(h.config);
    const sender = createMailSender({ db: h.app.db, transport, logger: silent, poll: false });
    // Sent by the harness's sender: received over SMTP, then marked SENT in its own transaction.
    await eventually(
      'sent and marked SENT',
      async () => (await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: row.id } })).status === 'SENT',
    );
    await sender.sendDue();
    transport.close();
    await h.sendDueMail();
    expect(h.smtp.to(address)).toHaveLength(1);
    expect(h.smtp.to(address)[0]!.parsed.messageId).toBe(`<${row.id}@notification.coursegraph.dev>`);
    expect(await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: 'SENT',
      attempts: 1,
    });
  });

  it('retries an SMTP failure with growing backoff, then gives up as FAILED', async () => {
    // Only this test's sender runs here: the harness's own would take the row too.
    await h.stopWorkers();
    const transport = smtpTransport(h.config);
    try {
      const address = `retry-${newId()}@test.coursegraph.dev`;
      const row = await pendingEmail(address);
      let now = new Date();
      const sender = createMailSender({
        db: h.app.db,
        transport,
        logger: silent,
        poll: false,
        clock: () => now,
        retryBaseMs: 1000,
        maxAttempts: 3,
      });
      h.smtp.refuseNext(1);
      await sender.sendDue();
      let current = await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: row.id } });
      expect(current).toMatchObject({ status: 'PENDING', attempts: 1 });
      expect(current.lastError).toContain('451');
      expect(current.nextAttemptAt.getTime()).toBe(now.getTime() + 1000);
      await sender.sendDue(); // not due yet
      expect(h.smtp.to(address)).toHaveLength(0);
      now = new Date(now.getTime() + 1000);
      await sender.sendDue();
      expect(h.smtp.to(address)).toHaveLength(1);
      expect(await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
        status: 'SENT',
        attempts: 2,
      });

      const doomed = await pendingEmail(`doomed-${newId()}@test.coursegraph.dev`);
      h.smtp.refuseNext(3);
      await sender.sendDue();
      now = new Date(now.getTime() + 1000);
      await sender.sendDue();
      current = await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: doomed.id } });
      expect(current).toMatchObject({ status: 'PENDING', attempts: 2 });
      expect(current.nextAttemptAt.getTime()).toBe(now.getTime() + 2000); // doubled
      now = new Date(now.getTime() + 2000);
      await sender.sendDue();
      expect(await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: doomed.id } })).toMatchObject({
        status: 'FAILED',
        attempts: 3,
      });
      h.smtp.refuseNext(0);
    } finally {
      transport.close();
      await h.startWorkers();
    }
  });

  it('a deactivated recipient gets nothing more: queued mail is cancelled, later events send none', async () => {
    const { courseId } = await publishCourse(h);
    const me = await h.learner('leaving');
    // The enrolment (ENROLLMENT) and the deactivation (IDENTITY) travel on different streams, so
    // which one notification applies first is not fixed, and mail the sender got to before the
    // deactivation was applied is rightly sent. For mail that is still queued when it is applied,
    // the sender stands still until then, and the enrolment's email is queued first.
    await h.stopMailSender();
    let queuedId = '';
    try {
      await enrolled(h, me.userId, courseId);
      const [queued] = await eventually('the enrolment email queued', async () => {
        const rows = await emailsOf(h, me.userId);
        return rows.length === 1 && rows;
      });
      expect(queued).toMatchObject({ status: 'PENDING' });
      queuedId = queued!.id;
      await h.publish(IdentityEvents.userDeactivated, { userId: me.userId, deactivatedAt: new Date().toISOString() });
      await eventually(
        'deactivation applied',
        async () =>
          (await h.app.db.recipient.findUniqueOrThrow({ where: { userId: me.userId } })).deactivatedAt !== null,
      );
      // The same transaction cancelled the queued mail.
      expect(await emailsOf(h, me.userId)).toMatchObject([
        { id: queuedId, status: 'CANCELLED', lastError: 'recipient deactivated' },
      ]);
      await paid(h, me.userId, courseId);
      await eventually('both in the inbox', async () => (await inboxOf(h, me.userId)).length === 2);
    } finally {
      await h.stopWorkers();
      await h.startWorkers();
    }
    await h.sendDueMail();
    expect(h.smtp.to(me.email)).toEqual([]);
    // The payment after the deactivation queued no mail at all.
    expect(await emailsOf(h, me.userId)).toMatchObject([{ id: queuedId, status: 'CANCELLED' }]);
  });
});

describe('digests', () => {
  it("a daily digest holds the day's emails and sends them as one message once the day has ended", async () => {
    const { courseId, title } = await publishCourse(h);
    const me = await h.learner('daily');
    await prefer(me.token, 'PAYMENT', 'EMAIL', 'DAILY_DIGEST');
    await paid(h, me.userId, courseId, 1000n);
    await paid(h, me.userId, courseId, 2500n);
    await eventually(
      'two digest entries',
      async () => (await h.app.db.digestEntry.count({ where: { userId: me.userId } })) === 2,
    );
    expect(await emailsOf(h, me.userId)).toEqual([]);

    // Still the same day: nothing goes out.
    const { queuedAt } = await h.app.db.digestEntry.findFirstOrThrow({
      where: { userId: me.userId },
      orderBy: { queuedAt: 'desc' },
    });
    await runDigests(h.app.db, queuedAt, silent);
    expect(await emailsOf(h, me.userId)).toEqual([]);

    const tomorrow = new Date(queuedAt.getTime() + DAY);
    await runDigests(h.app.db, tomorrow, silent);
    await runDigests(h.app.db, tomorrow, silent); // a second run (or a second instance) queues nothing more
    const [mail] = await eventually(
      'digest email',
      async () => h.smtp.to(me.email).length === 1 && h.smtp.to(me.email),
    );
    const day = queuedAt.toISOString().slice(0, 10);
    expect(mail!.parsed.subject).toBe(`Your Coursegraph digest: 2 notifications on ${day}`);
    expect(mail!.parsed.text).toContain('$10.00');
    expect(mail!.parsed.text).toContain('$25.00');
    expect(mail!.parsed.text).toContain(`Payment received for ${title}`);
    expect(await emailsOf(h, me.userId)).toMatchObject([{ dedupeKey: `digest:DAILY_DIGEST:${day}` }]);
    expect(await h.app.db.digestEntry.count({ where: { userId: me.userId, emailDeliveryId: null } })).toBe(0);
    // The inbox was never held back.
    expect(await inboxOf(h, me.userId)).toHaveLength(2);
  });

  it('a weekly digest waits for the end of the ISO week', async () => {
    const { courseId } = await publishCourse(h, 'Weekly course');
    const me = await h.learner('weekly');
    await prefer(me.token, 'ENROLLMENT', 'EMAIL', 'WEEKLY_DIGEST');
    await enrolled(h, me.userId, courseId);
    await eventually(
      'digest entry',
      async () => (await h.app.db.digestEntry.count({ where: { userId: me.userId } })) === 1,
    );
    const { queuedAt } = await h.app.db.digestEntry.findFirstOrThrow({ where: { userId: me.userId } });
    await runDigests(h.app.db, queuedAt, silent);
    expect(await emailsOf(h, me.userId)).toEqual([]);
    await runDigests(h.app.db, new Date(queuedAt.getTime() + 7 * DAY), silent);
    const [mail] = await eventually(
      'digest email',
      async () => h.smtp.to(me.email).length === 1 && h.smtp.to(me.email),
    );
    expect(mail!.parsed.subject).toMatch(/^Your Coursegraph digest: 1 notification in week \d{2} of \d{4}$/);
    expect(mail!.parsed.text).toContain('You are enrolled in Weekly course');
  });

  it('an entry that arrives for a period already mailed goes out with the next period, never as a second digest', async () => {
    const me = await h.learner('late');
    await h.stopWorkers(); // the digest job of the workers must not take part
    try {
      const entry = (period: string) => ({
        id: newId(),
        userId: me.userId,
        sourceEventId: newId(),
        frequency: 'DAILY_DIGEST' as const,
        period,
        type: 'PAYMENT_SUCCEEDED' as const,
        subject: `Paid ${period}`,
        text: 'Body',
      });
      await h.app.db.digestEntry.create({ data: entry('2026-01-10') });
      const jan12 = new Date('2026-01-12T08:00:00.000Z');
      expect(await runDigests(h.app.db, jan12, silent)).toBe(1);
      const late = await h.app.db.digestEntry.create({ data: entry('2026-01-10') }); // processed late, for the mailed day
      expect(await runDigests(h.app.db, jan12, silent)).toBe(0);
      expect(await h.app.db.digestEntry.findUniqueOrThrow({ where: { id: late.id } })).toMatchObject({
        period: '2026-01-12',
        emailDeliveryId: null,
      });
      expect(await runDigests(h.app.db, new Date('2026-01-13T00:00:00.000Z'), silent)).toBe(1);
      expect((await emailsOf(h, me.userId)).map((e) => e.dedupeKey)).toEqual([
        'digest:DAILY_DIGEST:2026-01-10',
        'digest:DAILY_DIGEST:2026-01-12',
      ]);
    } finally {
      await h.startWorkers();
    }
    await eventually('both digests sent', async () => h.smtp.to(me.email).length === 2);
    expect(
      h.smtp
        .to(me.email)
        .map((m) => m.parsed.subject)
        .sort(),
    ).toEqual([
      'Your Coursegraph digest: 1 notification on 2026-01-10',
      'Your Coursegraph digest: 1 notification on 2026-01-12',
    ]);
  });
});
