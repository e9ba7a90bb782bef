import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { IdentityEvents, LearningEvents, NotificationEvents } from '@coursegraph/contracts';
import { createLogger, newId, newTraceparent, type ReceivedEvent } from '@coursegraph/service-kit';
import { eventually } from '@coursegraph/test-support';
import { applyCardsDue, InvalidCardsDue } from '../src/events/learning.js';
import { runDigests } from '../src/mail/digests.js';
import { startNotification, type NotificationHarness } from './harness.js';
import { emailsOf, inboxOf } from './fixtures.js';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotification();
});
afterAll(async () => {
  await h.close();
});

const silent = createLogger('notification-test', 'silent');
const DAY = 86_400_000;
const TODAY = new Date().toISOString().slice(0, 10);

function cardsDue(userId: string, dueCount: number, newCount: number, day = TODAY, id?: string) {
  return h.publish(LearningEvents.cardsDue, { userId, dueCount, newCount, day }, { id });
}

const handled = (eventId: string) =>
  eventually(
    `event ${eventId} handled`,
    async () => (await h.app.db.processedEvent.count({ where: { consumer: 'notification-learning', eventId } })) === 1,
  );

async function prefer(token: string, category: string, channel: string, frequency: string) {
  const res = await h.gql(
    `mutation($i: UpdateNotificationPreferenceInput!) { updateNotificationPreference(input: $i) { frequency } }`,
    { i: { category, channel, frequency } },
    token,
  );
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
}

const createdEventsOf = async (userId: string) =>
  (await h.app.db.outboxEvent.findMany({ where: { subject: NotificationEvents.created.subject } }))
    .map((r) => fromBinary(NotificationEvents.created.schema, r.payload))
    .filter((p) => p.userId === userId);

describe('the daily cards-due reminder', () => {
  it('by default: one inbox entry about no course, a notification.created event, and one email', async () => {
    const me = await h.learner('anki');
    const eventId = await cardsDue(me.userId, 7, 5);

    const [n] = await eventually(
      'inbox entry',
      async () => (await inboxOf(h, me.userId)).length > 0 && inboxOf(h, me.userId),
    );
    expect(n).toMatchObject({
      type: 'CARDS_DUE',
      category: 'STUDY_REMINDERS',
      courseId: null,
      sourceEventId: eventId,
      dedupeKey: `cards-due:${TODAY}`,
      title: '12 cards are due today',
      body: 'You have 7 cards to review and 5 new cards to learn today. A short review now keeps them from fading.',
    });
    expect(await createdEventsOf(me.userId)).toMatchObject([
      { notificationId: n!.id, type: 'CARDS_DUE', category: 'STUDY_REMINDERS', courseId: '', title: n!.title },
    ]);

    const [mail] = await eventually('email', async () => h.smtp.to(me.email).length > 0 && h.smtp.to(me.email));
    expect(mail!.parsed.subject).toBe('12 cards are due today');
    expect(mail!.parsed.text).toContain(`Hello ${me.name},`);
    expect(mail!.parsed.text).toContain('7 cards to review and 5 new cards to learn');
    expect(await emailsOf(h, me.userId)).toMatchObject([{ dedupeKey: `cards-due:${TODAY}` }]);
    // Exactly one of each.
    await eventually('delivery marked sent', async () => (await emailsOf(h, me.userId))[0]?.status === 'SENT');
    expect(await inboxOf(h, me.userId)).toHaveLength(1);
    expect(h.smtp.to(me.email)).toHaveLength(1);
  });

  it('says one card in the singular, and mentions new cards only when there are some', async () => {
    const [one, onlyNew] = await Promise.all([h.learner('one'), h.learner('fresh')]);
    await cardsDue(one.userId, 1, 0);
    await cardsDue(onlyNew.userId, 0, 1);
    const [a] = await eventually(
      'first reminder',
      async () => (await inboxOf(h, one.userId)).length > 0 && inboxOf(h, one.userId),
    );
    const [b] = await eventually(
      'second reminder',
      async () => (await inboxOf(h, onlyNew.userId)).length > 0 && inboxOf(h, onlyNew.userId),
    );
    expect(a!.title).toBe('1 card is due today');
    expect(a!.body).toBe('You have 1 card to review today. A short review now keeps them from fading.');
    expect(b!.title).toBe('1 card is due today');
    expect(b!.body).toBe('You have 1 new card to learn today. A short review now keeps them from fading.');
  });

  it('OFF on both channels: nothing at all', async () => {
    const me = await h.learner('quiet');
    await prefer(me.token, 'STUDY_REMINDERS', 'IN_APP', 'OFF');
    await prefer(me.token, 'STUDY_REMINDERS', 'EMAIL', 'OFF');
    await handled(await cardsDue(me.userId, 30, 10));
    expect(await inboxOf(h, me.userId)).toEqual([]);
    expect(await emailsOf(h, me.userId)).toEqual([]);
    expect(await h.app.db.digestEntry.count({ where: { userId: me.userId } })).toBe(0);
    expect(await createdEventsOf(me.userId)).toEqual([]);
  });

  it('email OFF: the inbox only; other categories are not affected', async () => {
    const me = await h.learner('inboxonly');
    await prefer(me.token, 'STUDY_REMINDERS', 'EMAIL', 'OFF');
    await handled(await cardsDue(me.userId, 3, 0));
    expect((await inboxOf(h, me.userId)).map((n) => n.type)).toEqual(['CARDS_DUE']);
    expect(await emailsOf(h, me.userId)).toEqual([]);
    const prefs = (await h.gql(`{ myNotificationPreferences { category channel frequency } }`, {}, me.token)).body.data!
      .myNotificationPreferences as { category: string; channel: string; frequency: string }[];
    expect(prefs.filter((p) => p.frequency === 'OFF')).toEqual([
      { category: 'STUDY_REMINDERS', channel: 'EMAIL', frequency: 'OFF' },
    ]);
  });

  it('nothing to study (zero due and zero new): no reminder', async () => {
    const me = await h.learner('idle');
    const eventId = await cardsDue(me.userId, 0, 0);
    await handled(eventId);
    expect(await inboxOf(h, me.userId)).toEqual([]);
    expect(await emailsOf(h, me.userId)).toEqual([]);
    expect(await createdEventsOf(me.userId)).toEqual([]);
  });

  it('a recipient identity has not announced yet: the reminder waits for them, then arrives with its email', async () => {
    const { userId } = await h.issuer.token('LEARNER');
    const eventId = await cardsDue(userId, 4, 0);
    // Its deliveries fail (no recipient yet) and are retried; nothing is written meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await inboxOf(h, userId)).toEqual([]);
    const email = `late-${userId}@test.coursegraph.dev`;
    const now = new Date().toISOString();
    await h.publish(IdentityEvents.userRegistered, {
      userId,
      email,
      name: 'Late Learner',
      role: 'LEARNER',
      registeredAt: now,
      emailVerifiedAt: now,
    });
    await handled(eventId);
    expect((await inboxOf(h, userId)).map((n) => n.title)).toEqual(['4 cards are due today']);
    const [mail] = await eventually('email', async () => h.smtp.to(email).length > 0 && h.smtp.to(email));
    expect(mail!.parsed.text).toContain('Hello Late Learner,');
  });
});

describe('one reminder per learner and review day', () => {
  it('a second event for the same day, a JetStream duplicate and a full replay add nothing; the next day does', async () => {
    const me = await h.learner('daily');
    const first = await cardsDue(me.userId, 10, 2);
    await handled(first);
    const second = await cardsDue(me.userId, 12, 0); // another event, same day (a producer's retry with a new id)
    await cardsDue(me.userId, 10, 2, TODAY, first); // the same id again: JetStream drops it
    await handled(second);
    await eventually('email sent', async () => h.smtp.to(me.email).length === 1);

    // Every event delivered again with the consumer's memory wiped: the per-day keys hold.
    await h.app.db.processedEvent.deleteMany({ where: { consumer: 'notification-learning' } });
    await h.restartWorkersFromStart();
    await h.sendDueMail();
    expect(await inboxOf(h, me.userId)).toMatchObject([{ sourceEventId: first, title: '12 cards are due today' }]);
    expect(await emailsOf(h, me.userId)).toHaveLength(1);
    expect(h.smtp.to(me.email)).toHaveLength(1);
    expect(await createdEventsOf(me.userId)).toHaveLength(1);

    const tomorrow = new Date(Date.parse(TODAY) + DAY).toISOString().slice(0, 10);
    await handled(await cardsDue(me.userId, 9, 0, tomorrow));
    expect((await inboxOf(h, me.userId)).map((n) => n.dedupeKey)).toEqual([
      `cards-due:${TODAY}`,
      `cards-due:${tomorrow}`,
    ]);
    await eventually('second email', async () => h.smtp.to(me.email).length === 2);
  });

  it('in a daily digest: one entry per day even for two events, mailed once the day has ended', async () => {
    const me = await h.learner('digest');
    await prefer(me.token, 'STUDY_REMINDERS', 'EMAIL', 'DAILY_DIGEST');
    await handled(await cardsDue(me.userId, 6, 0));
    await handled(await cardsDue(me.userId, 8, 0));
    const entries = await h.app.db.digestEntry.findMany({ where: { userId: me.userId } });
    expect(entries).toMatchObject([{ type: 'CARDS_DUE', frequency: 'DAILY_DIGEST', dedupeKey: `cards-due:${TODAY}` }]);
    expect(await emailsOf(h, me.userId)).toEqual([]);

    await runDigests(h.app.db, new Date(entries[0]!.queuedAt.getTime() + DAY), silent);
    const [mail] = await eventually(
      'digest email',
      async () => h.smtp.to(me.email).length === 1 && h.smtp.to(me.email),
    );
    expect(mail!.parsed.subject).toMatch(/^Your Coursegraph digest: 1 notification on /);
    expect(mail!.parsed.text).toContain('6 cards are due today');
    expect(await inboxOf(h, me.userId)).toHaveLength(1);
  });
});

describe('an event notification cannot act on', () => {
  const received = (payload: { userId: string; dueCount: number; newCount: number; day: string }) =>
    ({
      id: newId(),
      type: LearningEvents.cardsDue.subject,
      source: 'learning',
      time: new Date().toISOString(),
      traceparent: newTraceparent(),
      streamSequence: 1,
      deliveryCount: 1,
      payload: { $typeName: LearningEvents.cardsDue.schema.typeName, ...payload },
    }) as ReceivedEvent<typeof LearningEvents.cardsDue>;

  it.each([
    [{ dueCount: -1, newCount: 3 }, 'due_count and new_count must not be negative (got -1 and 3)'],
    [{ day: '2026-02-30' }, 'day is not a calendar date YYYY-MM-DD: "2026-02-30"'],
    [{ day: "2026-12-07'; drop table x" }, `day is not a calendar date YYYY-MM-DD: "2026-12-07'; drop table x"`],
    [{ userId: 'someone' }, 'user_id is not a UUID: "someone"'],
  ])('%o is refused with a clear error and changes nothing', async (bad, message) => {
    const me = await h.learner('hostile');
    const event = received({ userId: me.userId, dueCount: 5, newCount: 0, day: TODAY, ...bad });
    const error = await h.app.db.$transaction((tx) => applyCardsDue(tx, event)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InvalidCardsDue);
    expect((error as Error).message).toBe(message);
    expect(await inboxOf(h, me.userId)).toEqual([]);
    expect(await emailsOf(h, me.userId)).toEqual([]);
    expect(await h.app.db.digestEntry.count({ where: { userId: me.userId } })).toBe(0);
  });
});
