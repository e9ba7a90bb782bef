/**
 * Notifications end to end: a learner signs up and enrols through the gateway; identity's and
 * enrollment's events reach the notification subgraph over NATS; the inbox answers through the
 * gateway (joined with course's title) and the email arrives at a real SMTP server on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  contextDatabaseUrl,
  type E2E,
  errorCode,
  eventually,
  type Gql,
  person,
  type Person,
  publishCourse,
  type PublishedCourse,
  startE2E,
} from '@coursegraph/test-support';
import { startLoopbackSmtp, type LoopbackSmtp } from '../../subgraphs/notification/test/smtp.js';

let e2e: E2E;
let gql: Gql;
let smtp: LoopbackSmtp;
let free: PublishedCourse;

beforeAll(async () => {
  smtp = await startLoopbackSmtp();
  e2e = await startE2E('notifications', {
    env: { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), MAIL_POLL_MS: '200' },
  });
  gql = e2e.gql;
  const instructor = await person(e2e, 'INSTRUCTOR');
  free = await publishCourse(gql, instructor, { priceMinor: 0, title: 'Notifications & <you>' });
});

afterAll(async () => {
  await e2e?.platform.stop();
  await smtp?.close();
});

const INBOX = `{ myNotifications(first: 10) { totalCount edges { node { id type category title body read course { id title } user { id name } } } } unreadNotificationCount }`;

const VERIFICATION_SUBJECT = 'Confirm your email address for Coursegraph';

/** Notification's own rows for a user (what it recorded, mailed or not). */
async function notificationRows<T>(sql: string, userId: string): Promise<T[]> {
  const db = new pg.Client({ connectionString: contextDatabaseUrl('notification', e2e.database) });
  await db.connect();
  try {
    return (await db.query(sql, [userId])).rows as T[];
  } finally {
    await db.end();
  }
}

/**
 * A learner who signed up and verified their address the real way: the token from the verification
 * email, through the gateway; then waits until notification has applied identity.email.verified
 * (another stream than enrolments), so the mail of what follows is not raced.
 */
async function verifiedLearner(): Promise<Person> {
  const learner = await person(e2e);
  const mail = await eventually('the verification email', async () =>
    smtp.to(learner.email).find((m) => m.parsed.subject === VERIFICATION_SUBJECT),
  );
  const token = /[0-9a-f-]{36}\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}/.exec(mail.parsed.text ?? '')?.[0];
  const res = await gql(
    `mutation($t: String!) { verifyEmail(token: $t) { emailVerified } }`,
    { t: token },
    learner.token,
  );
  expect(res.body.data!.verifyEmail).toEqual({ emailVerified: true });
  await eventually(
    'notification knows the address is verified',
    async () =>
      (
        await notificationRows<{ verified: boolean }>(
          'select email_verified_at is not null as verified from recipients where user_id = $1',
          learner.userId,
        )
      )[0]?.verified,
  );
  return learner;
}

async function enrol(learner: Person, courseId: string) {
  return eventually('the course in enrollment', async () => {
    const res = await gql(`mutation($c: ID!) { enrol(courseId: $c) { status } }`, { c: courseId }, learner.token);
    return errorCode(res) === 'NOT_FOUND' ? undefined : res;
  });
}

describe('notifications through the gateway', () => {
  it('a learner enrols in a free course: the notification is in their inbox and the email arrives over SMTP', async () => {
    const learner = await verifiedLearner();
    const enrolled = await enrol(learner, free.courseId);
    expect(enrolled.body.data!.enrol.status).toBe('ACTIVE');

    await eventually(
      'the notification in the inbox',
      async () => (await gql(INBOX, {}, learner.token)).body.data?.myNotifications.totalCount === 1,
    );
    // Asked again once it is there: the fields of one answer are separate reads (the page, its
    // totalCount, unreadNotificationCount), so the answer that first counted it may have read the
    // others before the notification was committed.
    const inbox = (await gql(INBOX, {}, learner.token)).body.data!;
    expect(inbox.myNotifications.totalCount).toBe(1);
    expect(inbox.unreadNotificationCount).toBe(1);
    // Fields of three subgraphs in one notification: notification, course (title), identity (name).
    expect(inbox.myNotifications.edges[0].node).toMatchObject({
      type: 'ENROLLMENT_CREATED',
      category: 'ENROLLMENT',
      read: false,
      title: `You are enrolled in ${free.title}`,
      course: { id: free.courseId, title: free.title },
      user: { id: learner.userId, name: learner.name },
    });

    const enrolmentMails = () => smtp.to(learner.email).filter((m) => m.parsed.subject !== VERIFICATION_SUBJECT);
    const [mail] = await eventually('the email', async () =>
      enrolmentMails().length > 0 ? enrolmentMails() : undefined,
    );
    expect(enrolmentMails()).toHaveLength(1);
    expect(mail!.to).toEqual([learner.email]);
    expect(mail!.parsed.subject).toBe(`You are enrolled in ${free.title}`);
    expect(mail!.parsed.text).toContain(`Hello ${learner.name},`);
    expect(mail!.parsed.html).toContain('Notifications &amp; &lt;you&gt;');

    const id = inbox.myNotifications.edges[0].node.id;
    const read = await gql(`mutation($id: ID!) { markNotificationRead(id: $id) { id read } }`, { id }, learner.token);
    expect(read.body.data!.markNotificationRead).toEqual({ id, read: true });
    expect(
      (await gql(`{ me { id unreadNotificationCount notifications(first: 1) { totalCount } } }`, {}, learner.token))
        .body.data!.me,
    ).toEqual({ id: learner.userId, unreadNotificationCount: 0, notifications: { totalCount: 1 } });
  });

  it('a learner who has not verified their address gets the inbox entry and no email but the verification one', async () => {
    const learner = await person(e2e);
    await eventually('the verification email', async () =>
      smtp.to(learner.email).find((m) => m.parsed.subject === VERIFICATION_SUBJECT),
    );
    await enrol(learner, free.courseId);
    await eventually(
      'the notification in the inbox',
      async () => (await gql(INBOX, {}, learner.token)).body.data?.myNotifications.totalCount === 1,
    );
    // The enrolment's mail would have been queued in the transaction that wrote the inbox entry.
    const queued = await notificationRows<{ subject: string }>(
      'select subject from email_deliveries where user_id = $1',
      learner.userId,
    );
    expect(queued).toEqual([{ subject: VERIFICATION_SUBJECT }]);
  });

  it('another learner cannot read or change it, and bad input is refused with a clear error', async () => {
    const owner = await person(e2e);
    const other = await person(e2e);
    await enrol(owner, free.courseId);
    const id = await eventually(
      'the notification',
      async () => (await gql(INBOX, {}, owner.token)).body.data?.myNotifications.edges[0]?.node.id,
    );
    const theirs = await gql(`mutation($id: ID!) { markNotificationRead(id: $id) { id } }`, { id }, other.token);
    expect(errorCode(theirs)).toBe('NOT_FOUND');
    expect((await gql(INBOX, {}, other.token)).body.data!.myNotifications.totalCount).toBe(0);
    expect(
      errorCode(await gql(`{ user(id: "${owner.userId}") { notifications { totalCount } } }`, {}, other.token)),
    ).toMatch(/FORBIDDEN|NOT_FOUND/);
    const bad = await gql(
      `mutation { updateNotificationPreference(input: { category: PAYMENT, channel: IN_APP, frequency: WEEKLY_DIGEST }) { frequency } }`,
      {},
      owner.token,
    );
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(INBOX))).toBe('UNAUTHENTICATED');
    expect((await gql(INBOX, {}, owner.token)).body.data!.unreadNotificationCount).toBe(1);
  });
});
