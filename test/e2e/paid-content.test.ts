/**
 * Paid content through the one endpoint: for each caller (anonymous, a learner without an
 * entitlement, an enrolled learner, a learner after a refund, the instructor, an admin) exactly
 * what each path shows of a paid course: Course.modules, Lesson through `_entities` (search hits
 * join lessons that way), search snippets, and subscription events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsConnectOptions } from '@coursegraph/service-kit';
import { createClient as createSseClient } from 'graphql-sse';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  CHECKOUT,
  checkoutWhenPurchasable,
  contextDatabaseUrl,
  type E2E,
  eventually,
  type Gql,
  person,
  type Person,
  SANDBOX_CARDS,
  startE2E,
} from '@coursegraph/test-support';

let e2e: E2E;
let gql: Gql;
let instructor: Person;
let admin: Person;
/** Words that appear only in one lesson body each, so search can be asked about each body. */
const word = (tag: string) => `${tag}${Math.random().toString(36).slice(2, 8)}`;
const previewWord = word('preview');
const paidWord = word('premium');
const titleWord = word('Lockbox');
let course: { id: string; lessonIds: string[]; posBeforePublish: string };

const PREVIEW_BODY = `The opening lesson explains ${previewWord} to everyone.`;
const PAID_BODY = `Only buyers read about ${paidWord} here.`;
const OPEN = { [`${titleWord} preview`]: PREVIEW_BODY, [`${titleWord} paid`]: PAID_BODY };
const PREVIEW_ONLY = { [`${titleWord} preview`]: PREVIEW_BODY, [`${titleWord} paid`]: null };

/** The NATS stream's current position: a subscription `after` it gets every later event. */
async function positionNow(stream: string): Promise<string> {
  const nc = await connect(natsConnectOptions(e2e.natsUrl));
  try {
    return `${stream}:${(await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq}`;
  } finally {
    await nc.close();
  }
}

async function must(res: Promise<{ body: { data?: any; errors?: unknown } }>, field: string) {
  const { body } = await res;
  if (!body.data?.[field]) throw new Error(`${field} failed: ${JSON.stringify(body.errors)}`);
  return body.data[field];
}

beforeAll(async () => {
  e2e = await startE2E('paid');
  gql = e2e.gql;
  [instructor, admin] = await Promise.all([person(e2e, 'INSTRUCTOR'), person(e2e, 'ADMIN')]);
  const created = await must(
    gql(
      `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
      {
        i: {
          title: `${titleWord} course`,
          category: 'programming',
          level: 'BEGINNER',
          language: 'en',
          price: { amountMinor: 3900, currency: 'USD' },
        },
      },
      instructor.token,
    ),
    'createCourse',
  );
  const mod = await must(
    gql(
      `mutation($i: AddModuleInput!) { addModule(input: $i) { id } }`,
      { i: { courseId: created.id, title: 'Basics' } },
      instructor.token,
    ),
    'addModule',
  );
  const lessonIds: string[] = [];
  for (const [title, body, freePreview] of [
    [`${titleWord} preview`, PREVIEW_BODY, true],
    [`${titleWord} paid`, PAID_BODY, false],
  ] as const) {
    const lesson = await must(
      gql(
        `mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }`,
        {
          i: { moduleId: mod.id, title, kind: 'ARTICLE', body, freePreview },
        },
        instructor.token,
      ),
      'addLesson',
    );
    lessonIds.push(lesson.id);
  }
  const posBeforePublish = await positionNow('COURSE');
  await must(
    gql(`mutation($c: ID!) { publishCourse(courseId: $c) { id } }`, { c: created.id }, instructor.token),
    'publishCourse',
  );
  course = { id: created.id, lessonIds, posBeforePublish };
  // Search has indexed the course once its lessons are found by title.
  await eventually('search to index the course', async () => (await searchLessons(titleWord)).length === 2);
});

afterAll(async () => {
  await e2e?.platform.stop();
});

/** Path 1: Course.modules. */
async function throughCourse(token?: string) {
  const res = await gql(
    `query($c: ID!) { course(id: $c) { modules { lessons { title body locked } } } }`,
    { c: course.id },
    token,
  );
  const lessons = res.body.data!.course.modules.flatMap((m: any) => m.lessons);
  for (const l of lessons) expect(l.locked).toBe(l.body === null);
  return Object.fromEntries(lessons.map((l: any) => [l.title, l.body]));
}

/** Search's lesson hits for `q`, with the lesson joined through `_entities` as the caller. */
async function searchLessons(
  q: string,
  token?: string,
): Promise<{ title: string; textSnippet: string | null; body: string | null }[]> {
  const res = await gql(
    `query($q: String!) { search(query: $q, first: 20) { edges { node { kind textSnippet lesson { title body } } } } }`,
    { q },
    token,
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body
    .data!.search.edges.map((e: any) => e.node)
    .filter((n: any) => n.kind === 'LESSON')
    .map((n: any) => ({ title: n.lesson.title, textSnippet: n.textSnippet, body: n.lesson.body }));
}

/** Path 2: Lesson through `_entities` (search joins its lesson hits that way). */
async function throughEntities(token?: string) {
  return Object.fromEntries((await searchLessons(titleWord, token)).map((l) => [l.title, l.body]));
}

/** Path 3: search snippets: the preview's words are found and shown, the paid body's are not. */
async function throughSnippets(token?: string) {
  const preview = await searchLessons(previewWord, token);
  const paidHits = await searchLessons(paidWord, token);
  return { preview: preview.map((l) => l.textSnippet?.includes(previewWord) ?? false), paid: paidHits.length };
}

async function expectSees(token: string | undefined, expected: Record<string, string | null>) {
  expect(await throughCourse(token)).toEqual(expected);
  expect(await throughEntities(token)).toEqual(expected);
  // Search holds no paid body, whoever asks.
  expect(await throughSnippets(token)).toEqual({ preview: [true], paid: 0 });
}

/** Path 4: the first event of a subscription resumed `after` a position, as `token` sees it now. */
async function firstEvent(token: string, query: string, after: string): Promise<any> {
  const client = createSseClient({
    url: `${e2e.endpoint}/stream`,
    retryAttempts: 0,
    headers: { authorization: `Bearer ${token}` },
  });
  try {
    return await new Promise((resolve, reject) => {
      client.subscribe(
        { query, variables: { after } },
        { next: resolve, error: reject, complete: () => reject(new Error('completed without an event')) },
      );
    });
  } finally {
    client.dispose();
  }
}

const NOTIFICATION_COURSE = `subscription($after: String) { notificationAdded(after: $after) { type course { modules { lessons { title body } } } } }`;
const bodiesOf = (event: any, field: string) =>
  Object.fromEntries(
    event.data[field].course.modules.flatMap((m: any) => m.lessons).map((l: any) => [l.title, l.body]),
  );

const enrollmentOf = async (learner: Person) =>
  (await gql(`query($c: ID!) { course(id: $c) { viewerEnrollment { status mode } } }`, { c: course.id }, learner.token))
    .body.data?.course?.viewerEnrollment ?? null;

describe("the caller's trace", () => {
  it('travels from the gateway through payment into enrollment, and a malformed one is dropped', async () => {
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const learner = await person(e2e);
    const checkout = (body: Record<string, unknown>, headers: Record<string, string>) =>
      fetch(e2e.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${learner.token}`, ...headers },
        body: JSON.stringify(body),
      });
    const checkoutBody = (card: string) => ({
      query: CHECKOUT,
      variables: { i: { courseId: course.id, idempotencyKey: crypto.randomUUID(), paymentMethod: card } },
    });
    // A malformed header changes nothing for the caller (the declined card keeps the learner free to buy below).
    const bad = await (await checkout(checkoutBody(SANDBOX_CARDS.declined), { traceparent: 'not-a-trace' })).json();
    expect(bad.errors[0].extensions.code).toBe('PAYMENT_DECLINED');
    const paid = await (await checkout(checkoutBody(SANDBOX_CARDS.success), { traceparent })).json();
    expect(paid.data.checkout.order.status).toBe('PAID');
    const subjectsWith = async (context: string) => {
      const db = new pg.Client({ connectionString: contextDatabaseUrl(context, e2e.database) });
      await db.connect();
      try {
        return (
          await db.query('select subject from outbox_events where traceparent = $1 order by id', [traceparent])
        ).rows.map((r) => r.subject);
      } finally {
        await db.end();
      }
    };
    expect(await subjectsWith('payment')).toEqual(['payment.payment.succeeded']);
    expect(
      await eventually('the enrolment event', async () =>
        (await subjectsWith('enrollment')).includes('enrollment.enrollment.created'),
      ),
    ).toBe(true);
  });
});

describe('a paid course, as each caller sees it', () => {
  it('anonymous: the outline and the free preview', async () => {
    await expectSees(undefined, PREVIEW_ONLY);
  });

  it('a signed-in learner without an entitlement, auditing the course: the same', async () => {
    const learner = await person(e2e);
    const after = await positionNow('NOTIFICATION');
    const audit = await eventually('the course in enrollment', async () => {
      const res = await gql(
        `mutation($c: ID!) { enrol(courseId: $c, mode: AUDIT) { status mode } }`,
        { c: course.id },
        learner.token,
      );
      return res.body.data?.enrol;
    });
    expect(audit).toEqual({ status: 'ACTIVE', mode: 'AUDIT' });
    await expectSees(learner.token, PREVIEW_ONLY);
    expect(bodiesOf(await firstEvent(learner.token, NOTIFICATION_COURSE, after), 'notificationAdded')).toEqual(
      PREVIEW_ONLY,
    );
  });

  it('an enrolled learner: everything, on every path; after a refund: the preview only', async () => {
    const learner = await person(e2e);
    const after = await positionNow('NOTIFICATION');
    const order = (await checkoutWhenPurchasable(gql, learner, course.id, SANDBOX_CARDS.success)).body.data!.checkout
      .order;
    expect(order.status).toBe('PAID');
    await eventually(
      'the entitlement to reach course',
      async () => (await throughCourse(learner.token))[`${titleWord} paid`] !== null,
    );
    await expectSees(learner.token, OPEN);
    expect(bodiesOf(await firstEvent(learner.token, NOTIFICATION_COURSE, after), 'notificationAdded')).toEqual(OPEN);

    const refund = await gql(
      `mutation($o: ID!) { refundOrder(orderId: $o, reason: "requested by learner") { order { status } } }`,
      { o: order.id },
      admin.token,
    );
    expect(refund.body.data!.refundOrder.order.status).toBe('REFUNDED');
    await eventually(
      'the refund to reach course',
      async () => (await throughCourse(learner.token))[`${titleWord} paid`] === null,
    );
    expect(await enrollmentOf(learner)).toMatchObject({ status: 'REVOKED' });
    await expectSees(learner.token, PREVIEW_ONLY);
    // The same notification, delivered again now, shows what the learner may see now.
    expect(bodiesOf(await firstEvent(learner.token, NOTIFICATION_COURSE, after), 'notificationAdded')).toEqual(
      PREVIEW_ONLY,
    );
  });

  it("the course's instructor: everything, also in their own notifications", async () => {
    await expectSees(instructor.token, OPEN);
    // Notification tells instructors nothing about their courses as such: the instructor hears of
    // it as its user, here by auditing it, which alone would show a learner the preview only.
    const after = await positionNow('NOTIFICATION');
    const audit = await eventually('the course in enrollment', async () => {
      const res = await gql(
        `mutation($c: ID!) { enrol(courseId: $c, mode: AUDIT) { status mode } }`,
        { c: course.id },
        instructor.token,
      );
      return res.body.data?.enrol;
    });
    expect(audit).toEqual({ status: 'ACTIVE', mode: 'AUDIT' });
    await expectSees(instructor.token, OPEN);
    expect(bodiesOf(await firstEvent(instructor.token, NOTIFICATION_COURSE, after), 'notificationAdded')).toEqual(OPEN);
  });

  it('an admin: everything, also in the staff stream of published courses', async () => {
    await expectSees(admin.token, OPEN);
    const published = await firstEvent(
      admin.token,
      `subscription($after: String) { coursePublished(after: $after) { course { modules { lessons { title body } } } } }`,
      course.posBeforePublish,
    );
    expect(bodiesOf(published, 'coursePublished')).toEqual(OPEN);
  });
});
