/**
 * Email goes only to verified addresses: an unverified recipient gets inbox entries but no mail for
 * enrolments, payments and course updates, until identity announces the address verified; the
 * verification mail is the one message sent to an unverified address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityEvents } from '@coursegraph/contracts';
import { newId } from '@coursegraph/service-kit';
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

async function prefer(token: string, category: string, channel: string, frequency: string) {
  const res = await h.gql(
    `mutation($i: UpdateNotificationPreferenceInput!) { updateNotificationPreference(input: $i) { frequency } }`,
    { i: { category, channel, frequency } },
    token,
  );
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
}

const token = (userId: string) => `${userId}.${newId()}.${'T'.repeat(43)}`;
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

/** Enrols, pays for and updates a course of its own for the learner; resolves once all three are in the inbox. */
async function activity(me: { userId: string }, title: string) {
  const { courseId } = await publishCourse(h, title);
  const before = (await inboxOf(h, me.userId)).length;
  await enrolled(h, me.userId, courseId);
  await paid(h, me.userId, courseId);
  await eventually(
    'enrolment and payment in the inbox',
    async () => (await inboxOf(h, me.userId)).length === before + 2,
  );
  await publishCourse(h, `${title} v2`, courseId, 2);
  await eventually('the update in the inbox', async () => (await inboxOf(h, me.userId)).length === before + 3);
  return courseId;
}

describe('mail only to verified addresses', () => {
  it('an unverified recipient gets inbox entries and no mail; after verification, mail flows', async () => {
    const me = await h.learner('unverified', { verified: false });
    await prefer(me.token, 'COURSE_UPDATES', 'EMAIL', 'IMMEDIATE');
    await activity(me, 'Before verification');
    expect((await inboxOf(h, me.userId)).map((n) => n.type).sort()).toEqual([
      'COURSE_UPDATED',
      'ENROLLMENT_CREATED',
      'PAYMENT_SUCCEEDED',
    ]);
    await h.sendDueMail();
    expect(await emailsOf(h, me.userId)).toEqual([]);
    expect(await h.app.db.digestEntry.count({ where: { userId: me.userId } })).toBe(0);
    expect(h.smtp.to(me.email)).toEqual([]);

    await h.publish(IdentityEvents.emailVerified, {
      userId: me.userId,
      email: me.email,
      verifiedAt: new Date().toISOString(),
    });
    await eventually(
      'verification applied',
      async () =>
        (await h.app.db.recipient.findUniqueOrThrow({ where: { userId: me.userId } })).emailVerifiedAt !== null,
    );
    await activity(me, 'After verification');
    const mails = await eventually('three emails', async () => h.smtp.to(me.email).length === 3 && h.smtp.to(me.email));
    expect(mails.map((m) => m.parsed.subject).sort()).toEqual([
      'After verification v2 was updated',
      'Payment received for After verification',
      'You are enrolled in After verification',
    ]);
  });

  it('a verification of another address than the one registered does not verify this one', async () => {
    const me = await h.learner('mismatch', { verified: false });
    await h.publish(IdentityEvents.emailVerified, {
      userId: me.userId,
      email: `someone-else-${me.userId}@test.coursegraph.dev`,
      verifiedAt: new Date().toISOString(),
    });
    await h.learner('probe'); // same stream, published after: applied after
    expect((await h.app.db.recipient.findUniqueOrThrow({ where: { userId: me.userId } })).emailVerifiedAt).toBeNull();
  });
});

describe('the verification mail', () => {
  it('goes to the unverified address with the token, once, outside preferences and the inbox', async () => {
    const me = await h.learner('verifying', { verified: false });
    for (const category of ['ENROLLMENT', 'PAYMENT', 'PROGRESS', 'COURSE_UPDATES'])
      await prefer(me.token, category, 'EMAIL', 'OFF');
    const t = token(me.userId);
    const id = await h.publish(IdentityEvents.emailVerificationRequested, {
      userId: me.userId,
      email: me.email,
      name: me.name,
      token: t,
      expiresAt: inAnHour(),
    });
    const [mail] = await eventually(
      'the verification mail',
      async () => h.smtp.to(me.email).length === 1 && h.smtp.to(me.email),
    );
    expect(mail!.parsed.subject).toBe('Confirm your email address for Coursegraph');
    expect(mail!.parsed.text).toContain(t);
    expect(mail!.parsed.text).toContain(`Hello ${me.name},`);
    expect(await inboxOf(h, me.userId)).toEqual([]);
    expect(await emailsOf(h, me.userId)).toMatchObject([{ dedupeKey: `verification:${id}` }]);

    // Replayed (the consumer's memory wiped): nothing is queued again.
    await h.app.db.processedEvent.deleteMany({ where: { consumer: 'notification-identity' } });
    await h.restartWorkersFromStart();
    await h.sendDueMail();
    expect(h.smtp.to(me.email)).toHaveLength(1);
  });

  it('is not sent for a token already expired when it arrives, nor to an address already verified', async () => {
    const late = await h.learner('late', { verified: false });
    await h.publish(IdentityEvents.emailVerificationRequested, {
      userId: late.userId,
      email: late.email,
      name: late.name,
      token: token(late.userId),
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const done = await h.learner('done');
    await h.publish(IdentityEvents.emailVerificationRequested, {
      userId: done.userId,
      email: done.email,
      name: done.name,
      token: token(done.userId),
      expiresAt: inAnHour(),
    });
    await h.learner('probe'); // applied after both on the same stream
    await h.sendDueMail();
    expect(await emailsOf(h, late.userId)).toEqual([]);
    expect(await emailsOf(h, done.userId)).toEqual([]);
  });
});
