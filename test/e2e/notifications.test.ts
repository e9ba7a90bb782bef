/**
 * Notifications end to end: a learner signs up and enrols through the gateway; identity's and
 * enrollment's events reach the notification subgraph over NATS; the inbox answers through the
 * gateway (joined with course's title) and the email arrives at a real SMTP server on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../support/graphql.js';
import { eventually, person, publishCourse, startE2E, type E2E, type Gql, type Person, type PublishedCourse } from '../support/journeys.js';
import { startLoopbackSmtp, type LoopbackSmtp } from '../../subgraphs/notification/test/smtp.js';

let e2e: E2E;
let gql: Gql;
let smtp: LoopbackSmtp;
let free: PublishedCourse;

beforeAll(async () => {
  smtp = await startLoopbackSmtp();
  e2e = await startE2E('notifications', { env: { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), MAIL_POLL_MS: '200' } });
  gql = e2e.gql;
  const instructor = await person(e2e, 'INSTRUCTOR');
  free = await publishCourse(gql, instructor, { priceMinor: 0, title: 'Notifications & <you>' });
});

afterAll(async () => {
  await e2e?.platform.stop();
  await smtp?.close();
});

const INBOX = `{ myNotifications(first: 10) { totalCount edges { node { id type category title body read course { id title } user { id name } } } } unreadNotificationCount }`;

async function enrol(learner: Person, courseId: string) {
  return eventually('the course in enrollment', async () => {
    const res = await gql(`mutation($c: ID!) { enrol(courseId: $c) { status } }`, { c: courseId }, learner.token);
    return errorCode(res) === 'NOT_FOUND' ? undefined : res;
  });
}

describe('notifications through the gateway', () => {
  it('a learner enrols in a free course: the notification is in their inbox and the email arrives over SMTP', async () => {
    const learner = await person(e2e);
    const enrolled = await enrol(learner, free.courseId);
    expect(enrolled.body.data!.enrol.status).toBe('ACTIVE');

    await eventually('the notification in the inbox', async () => (await gql(INBOX, {}, learner.token)).body.data?.myNotifications.totalCount === 1);
    // Asked again once it is there: the fields of one answer are separate reads (the page, its
    // totalCount, unreadNotificationCount), so the answer that first counted it may have read the
    // others before the notification was committed.
    const inbox = (await gql(INBOX, {}, learner.token)).body.data!;
    expect(inbox.myNotifications.totalCount).toBe(1);
    expect(inbox.unreadNotificationCount).toBe(1);
    // Fields of three subgraphs in one notification: notification, course (title), identity (name).
    expect(inbox.myNotifications.edges[0].node).toMatchObject({
      type: 'ENROLLMENT_CREATED', category: 'ENROLLMENT', read: false,
      title: `You are enrolled in ${free.title}`,
      course: { id: free.courseId, title: free.title },
      user: { id: learner.userId, name: learner.name },
    });

    const [mail] = await eventually('the email', async () => (smtp.to(learner.email).length > 0 ? smtp.to(learner.email) : undefined));
    expect(smtp.to(learner.email)).toHaveLength(1);
    expect(mail!.to).toEqual([learner.email]);
    expect(mail!.parsed.subject).toBe(`You are enrolled in ${free.title}`);
    expect(mail!.parsed.text).toContain(`Hello ${learner.name},`);
    expect(mail!.parsed.html).toContain('Notifications &amp; &lt;you&gt;');

    const id = inbox.myNotifications.edges[0].node.id;
    const read = await gql(`mutation($id: ID!) { markNotificationRead(id: $id) { id read } }`, { id }, learner.token);
    expect(read.body.data!.markNotificationRead).toEqual({ id, read: true });
    expect((await gql(`{ me { id unreadNotificationCount notifications(first: 1) { totalCount } } }`, {}, learner.token)).body.data!.me)
      .toEqual({ id: learner.userId, unreadNotificationCount: 0, notifications: { totalCount: 1 } });
  });

  it('another learner cannot read or change it, and bad input is refused with a clear error', async () => {
    const owner = await person(e2e);
    const other = await person(e2e);
    await enrol(owner, free.courseId);
    const id = await eventually('the notification', async () => (await gql(INBOX, {}, owner.token)).body.data?.myNotifications.edges[0]?.node.id);
    const theirs = await gql(`mutation($id: ID!) { markNotificationRead(id: $id) { id } }`, { id }, other.token);
    expect(errorCode(theirs)).toBe('NOT_FOUND');
    expect((await gql(INBOX, {}, other.token)).body.data!.myNotifications.totalCount).toBe(0);
    expect(errorCode(await gql(`{ user(id: "${owner.userId}") { notifications { totalCount } } }`, {}, other.token))).toMatch(/FORBIDDEN|NOT_FOUND/);
    const bad = await gql(`mutation { updateNotificationPreference(input: { category: PAYMENT, channel: IN_APP, frequency: WEEKLY_DIGEST }) { frequency } }`, {}, owner.token);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(INBOX))).toBe('UNAUTHENTICATED');
    expect((await gql(INBOX, {}, owner.token)).body.data!.unreadNotificationCount).toBe(1);
  });
});
