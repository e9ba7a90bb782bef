import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { NotificationEvents } from '@coursegraph/contracts';
import { errorCode, eventually } from '@coursegraph/test-support';
import { startNotification, type NotificationHarness } from './harness.js';
import { emailsOf, enrolled, inboxOf, paid, publishCourse } from './fixtures.js';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotification();
});
afterAll(async () => {
  await h.close();
});

const PREFS = `{ myNotificationPreferences { category channel frequency isDefault } }`;
const UPDATE = `mutation($i: UpdateNotificationPreferenceInput!) { updateNotificationPreference(input: $i) { category channel frequency isDefault } }`;

async function prefer(token: string, category: string, channel: string, frequency: string) {
  const res = await h.gql(UPDATE, { i: { category, channel, frequency } }, token);
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
}

describe('preferences', () => {
  it("lists every category on every channel with the defaults, then the user's choices", async () => {
    const me = await h.learner();
    const defaults = (await h.gql(PREFS, {}, me.token)).body.data!.myNotificationPreferences;
    expect(defaults).toHaveLength(10);
    expect(
      defaults.filter((p: any) => p.channel === 'IN_APP').every((p: any) => p.frequency === 'IMMEDIATE' && p.isDefault),
    ).toBe(true);
    expect(defaults.find((p: any) => p.category === 'COURSE_UPDATES' && p.channel === 'EMAIL').frequency).toBe(
      'WEEKLY_DIGEST',
    );
    expect(defaults.find((p: any) => p.category === 'PAYMENT' && p.channel === 'EMAIL').frequency).toBe('IMMEDIATE');
    expect(defaults.find((p: any) => p.category === 'STUDY_REMINDERS' && p.channel === 'EMAIL').frequency).toBe(
      'IMMEDIATE',
    );
    const updated = await h.gql(
      UPDATE,
      { i: { category: 'PAYMENT', channel: 'EMAIL', frequency: 'DAILY_DIGEST' } },
      me.token,
    );
    expect(updated.body.data!.updateNotificationPreference).toEqual({
      category: 'PAYMENT',
      channel: 'EMAIL',
      frequency: 'DAILY_DIGEST',
      isDefault: false,
    });
    const after = (await h.gql(PREFS, {}, me.token)).body.data!.myNotificationPreferences;
    expect(after.find((p: any) => p.category === 'PAYMENT' && p.channel === 'EMAIL')).toMatchObject({
      frequency: 'DAILY_DIGEST',
      isDefault: false,
    });
    expect(after.filter((p: any) => !p.isDefault)).toHaveLength(1);
  });

  it('refuses a digest for the inbox, unknown values and anonymous callers, and changes nothing', async () => {
    const me = await h.learner();
    await prefer(me.token, 'ENROLLMENT', 'IN_APP', 'OFF');
    const digestInApp = await h.gql(
      UPDATE,
      { i: { category: 'ENROLLMENT', channel: 'IN_APP', frequency: 'DAILY_DIGEST' } },
      me.token,
    );
    expect(errorCode(digestInApp)).toBe('BAD_USER_INPUT');
    expect(digestInApp.body.errors![0]!.message).toBe('IN_APP takes IMMEDIATE or OFF; digests are for EMAIL only.');
    expect(digestInApp.body.errors![0]!.extensions!.field).toBe('frequency');
    expect(
      errorCode(await h.gql(UPDATE, { i: { category: 'NEWSLETTER', channel: 'EMAIL', frequency: 'OFF' } }, me.token)),
    ).toBe('BAD_USER_INPUT');
    expect(
      errorCode(await h.gql(UPDATE, { i: { category: 'PAYMENT', channel: 'SMS', frequency: 'OFF' } }, me.token)),
    ).toBe('BAD_USER_INPUT');
    expect(
      errorCode(await h.gql(UPDATE, { i: { category: 'PAYMENT', channel: 'EMAIL', frequency: 'HOURLY' } }, me.token)),
    ).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.gql(UPDATE, { i: { category: 'PAYMENT', channel: 'EMAIL', frequency: 'OFF' } }))).toBe(
      'UNAUTHENTICATED',
    );
    const rows = await h.app.db.notificationPreference.findMany({ where: { userId: me.userId } });
    expect(rows.map(({ category, channel, frequency }) => ({ category, channel, frequency }))).toEqual([
      { category: 'ENROLLMENT', channel: 'IN_APP', frequency: 'OFF' },
    ]);
  });
});

describe('preferences decide what is delivered', () => {
  it('OFF on both channels: nothing at all', async () => {
    const { courseId } = await publishCourse(h);
    const me = await h.learner();
    await prefer(me.token, 'ENROLLMENT', 'IN_APP', 'OFF');
    await prefer(me.token, 'ENROLLMENT', 'EMAIL', 'OFF');
    const eventId = await enrolled(h, me.userId, courseId);
    await eventually('event handled', async () => (await h.app.db.processedEvent.count({ where: { eventId } })) === 1);
    expect(await inboxOf(h, me.userId)).toEqual([]);
    expect(await emailsOf(h, me.userId)).toEqual([]);
    expect(await h.app.db.digestEntry.count({ where: { userId: me.userId } })).toBe(0);
  });

  it('email off for one category: the inbox still gets it, and other categories still mail', async () => {
    const { courseId, title } = await publishCourse(h);
    const me = await h.learner();
    await prefer(me.token, 'ENROLLMENT', 'EMAIL', 'OFF');
    const enrolment = await enrolled(h, me.userId, courseId);
    await paid(h, me.userId, courseId);
    await eventually('payment email', async () => h.smtp.to(me.email).length === 1);
    await eventually(
      'enrolment handled',
      async () => (await h.app.db.processedEvent.count({ where: { eventId: enrolment } })) === 1,
    );
    expect(h.smtp.to(me.email).map((m) => m.parsed.subject)).toEqual([`Payment received for ${title}`]);
    expect((await inboxOf(h, me.userId)).map((n) => n.type).sort()).toEqual([
      'ENROLLMENT_CREATED',
      'PAYMENT_SUCCEEDED',
    ]);
    expect((await emailsOf(h, me.userId)).map((e) => e.subject)).toEqual([`Payment received for ${title}`]);
  });

  it('in-app off: email only, and no notification.created event for the gateway', async () => {
    const { courseId, title } = await publishCourse(h);
    const me = await h.learner();
    await prefer(me.token, 'ENROLLMENT', 'IN_APP', 'OFF');
    await enrolled(h, me.userId, courseId);
    const [mail] = await eventually('email', async () => h.smtp.to(me.email).length === 1 && h.smtp.to(me.email));
    expect(mail!.parsed.subject).toBe(`You are enrolled in ${title}`);
    expect(await inboxOf(h, me.userId)).toEqual([]);
    const created = await h.app.db.outboxEvent.findMany({ where: { subject: NotificationEvents.created.subject } });
    expect(
      created
        .map((r) => fromBinary(NotificationEvents.created.schema, r.payload))
        .filter((p) => p.userId === me.userId),
    ).toEqual([]);
  });
});
