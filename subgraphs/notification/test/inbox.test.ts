import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import { errorCode, eventually } from '@coursegraph/test-support';
import { startNotification, type NotificationHarness } from './harness.js';
import { enrolled, inboxOf, paid, publishCourse } from './fixtures.js';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotification();
});
afterAll(async () => {
  await h.close();
});

const INBOX = `query($first: Int, $after: String, $unread: Boolean) {
  myNotifications(first: $first, after: $after, unreadOnly: $unread) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id type category title body read readAt createdAt course { id } user { id } } }
  }
  unreadNotificationCount
}`;
const MARK = `mutation($id: ID!) { markNotificationRead(id: $id) { id read readAt } }`;
const MARK_ALL = `mutation { markAllNotificationsRead }`;

/** A learner with `n` notifications (one enrolment and n-1 payments), all in the inbox. */
async function learnerWith(n: number) {
  const { courseId } = await publishCourse(h);
  const me = await h.learner();
  await enrolled(h, me.userId, courseId);
  for (let i = 1; i < n; i++) await paid(h, me.userId, courseId, BigInt(100 * i));
  await eventually(`${n} notifications`, async () => (await inboxOf(h, me.userId)).length === n);
  return { ...me, courseId };
}

describe('the inbox', () => {
  it("lists the signed-in user's notifications newest first, pages through them, and counts the unread", async () => {
    const me = await learnerWith(3);
    const first = await h.gql(INBOX, { first: 2 }, me.token);
    const page = first.body.data!.myNotifications;
    expect(page.totalCount).toBe(3);
    expect(first.body.data!.unreadNotificationCount).toBe(3);
    expect(page.edges).toHaveLength(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(page.edges[0].node).toMatchObject({
      read: false,
      readAt: null,
      user: { id: me.userId },
      course: { id: me.courseId },
    });
    const second = (await h.gql(INBOX, { first: 2, after: page.pageInfo.endCursor }, me.token)).body.data!
      .myNotifications;
    expect(second.edges).toHaveLength(1);
    expect(second.pageInfo.hasNextPage).toBe(false);
    // Newest first is id order (UUID v7): the pages hold every notification once, by id descending.
    const nodes = [...page.edges, ...second.edges].map((e: any) => e.node);
    expect(nodes.map((n: any) => n.id)).toEqual((await inboxOf(h, me.userId)).map((n) => n.id).reverse());
    // Which comes first across streams is not fixed: the enrolment (ENROLLMENT) and the payments
    // (PAYMENT) are handled by different consumers, so only the types as a whole are known.
    expect(nodes.map((n: any) => n.type).sort()).toEqual([
      'ENROLLMENT_CREATED',
      'PAYMENT_SUCCEEDED',
      'PAYMENT_SUCCEEDED',
    ]);
  });

  it('marks one read, then all; unreadOnly and the count follow', async () => {
    const me = await learnerWith(3);
    const all = (await h.gql(INBOX, {}, me.token)).body.data!.myNotifications.edges.map((e: any) => e.node.id);
    const marked = await h.gql(MARK, { id: all[1] }, me.token);
    expect(marked.body.data!.markNotificationRead).toMatchObject({ id: all[1], read: true });
    expect(marked.body.data!.markNotificationRead.readAt).toEqual(expect.any(String));
    // Marking again keeps the first time it was read.
    expect((await h.gql(MARK, { id: all[1] }, me.token)).body.data!.markNotificationRead.readAt).toBe(
      marked.body.data!.markNotificationRead.readAt,
    );
    const unread = await h.gql(INBOX, { unread: true }, me.token);
    expect(unread.body.data!.myNotifications.edges.map((e: any) => e.node.id)).toEqual([all[0], all[2]]);
    expect(unread.body.data!.unreadNotificationCount).toBe(2);
    expect((await h.gql(MARK_ALL, {}, me.token)).body.data!.markAllNotificationsRead).toBe(2);
    expect((await h.gql(MARK_ALL, {}, me.token)).body.data!.markAllNotificationsRead).toBe(0);
    expect((await h.gql(INBOX, {}, me.token)).body.data!.unreadNotificationCount).toBe(0);
  });

  it('is reachable through the User entity by its owner only', async () => {
    const me = await learnerWith(1);
    const other = await h.learner('other');
    const entity = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id unreadNotificationCount notifications(first: 5) { totalCount } } } }`;
    const own = await h.gql(entity, { r: [{ __typename: 'User', id: me.userId }] }, me.token);
    expect(own.body.data!._entities[0]).toMatchObject({ unreadNotificationCount: 1, notifications: { totalCount: 1 } });
    const theirs = await h.gql(entity, { r: [{ __typename: 'User', id: me.userId }] }, other.token);
    expect(errorCode(theirs)).toBe('FORBIDDEN');
    const admin = await h.issuer.token('ADMIN');
    expect(errorCode(await h.gql(entity, { r: [{ __typename: 'User', id: me.userId }] }, admin.token))).toBe(
      'FORBIDDEN',
    );
    // A notification by reference (as the gateway fetches one) is its owner's alone, too.
    const [n] = await inboxOf(h, me.userId);
    const byRef = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { id title } } }`;
    expect(
      (await h.gql(byRef, { r: [{ __typename: 'Notification', id: n!.id }] }, me.token)).body.data!._entities[0],
    ).toMatchObject({ id: n!.id });
    expect(
      (await h.gql(byRef, { r: [{ __typename: 'Notification', id: n!.id }] }, other.token)).body.data!._entities[0],
    ).toBeNull();
    // And by id (the gateway joins notificationAdded events this way): the owner's, or null.
    const byId = `query($id: ID!) { notification(id: $id) { id title read } }`;
    expect((await h.gql(byId, { id: n!.id }, me.token)).body.data!.notification).toMatchObject({
      id: n!.id,
      read: false,
    });
    expect((await h.gql(byId, { id: n!.id }, other.token)).body.data!.notification).toBeNull();
    expect(errorCode(await h.gql(byId, { id: 'nope' }, me.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.gql(byId, { id: n!.id }))).toBe('UNAUTHENTICATED');
  });
});

describe("another user's notifications and bad input", () => {
  it("another user's notification is NOT_FOUND, exactly like a missing one, and stays unread", async () => {
    const owner = await learnerWith(1);
    const intruder = await h.learner('intruder');
    const [n] = await inboxOf(h, owner.userId);
    const res = await h.gql(MARK, { id: n!.id }, intruder.token);
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(res.body.errors![0]!.message).toBe(`No notification with id ${n!.id}.`);
    const missingId = newId();
    expect((await h.gql(MARK, { id: missingId }, intruder.token)).body.errors![0]!.message).toBe(
      `No notification with id ${missingId}.`,
    );
    expect((await h.app.db.notification.findUniqueOrThrow({ where: { id: n!.id } })).readAt).toBeNull();
    // markAll of the intruder touches nothing of the owner's.
    await h.gql(MARK_ALL, {}, intruder.token);
    expect((await h.gql(INBOX, {}, owner.token)).body.data!.unreadNotificationCount).toBe(1);
  });

  it('refuses malformed ids, foreign cursors, page sizes out of range and anonymous callers', async () => {
    const me = await learnerWith(1);
    const bad = await h.gql(MARK, { id: 'not-an-id' }, me.token);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.body.errors![0]!.extensions!.field).toBe('id');
    expect(errorCode(await h.gql(INBOX, { after: 'bm90LWEtY3Vyc29y' }, me.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.gql(INBOX, { first: 0 }, me.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.gql(INBOX, { first: 101 }, me.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.gql(INBOX, {}))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.gql(MARK_ALL, {}))).toBe('UNAUTHENTICATED');
    expect((await h.gql(INBOX, {}, me.token)).body.data!.unreadNotificationCount).toBe(1);
  });
});
