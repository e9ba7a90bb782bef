/**
 * The content contour end to end: identity, course, enrollment, payment and the gateway as
 * processes, joined by events on NATS JetStream. Every call goes through the single endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKOUT,
  checkoutWhenPurchasable,
  type E2E,
  errorCode,
  eventually,
  type Gql,
  person,
  type Person,
  publishCourse,
  type PublishedCourse,
  SANDBOX_CARDS,
  startE2E,
  VIEWER_ENROLLMENT,
} from '@coursegraph/test-support';

let e2e: E2E;
let gql: Gql;
let instructor: Person;
let admin: Person;
let paid: PublishedCourse;

const enrollmentOf = async (learner: Person, courseId: string) =>
  (await gql(VIEWER_ENROLLMENT, { c: courseId }, learner.token)).body.data?.course?.viewerEnrollment ?? null;

beforeAll(async () => {
  e2e = await startE2E('saga');
  gql = e2e.gql;
  [instructor, admin] = await Promise.all([person(e2e, 'INSTRUCTOR'), person(e2e, 'ADMIN')]);
  paid = await publishCourse(gql, instructor, { priceMinor: 4900, lessons: 2 });
});

afterAll(async () => {
  await e2e?.platform.stop();
});

describe('the purchase saga', () => {
  it('checkout → payment succeeded → enrollment active → progress → completion → certificate', async () => {
    const learner = await person(e2e);
    const checkout = await checkoutWhenPurchasable(gql, learner, paid.courseId, SANDBOX_CARDS.success);
    expect(checkout.body.errors).toBeUndefined();
    expect(checkout.body.data!.checkout.order).toMatchObject({
      status: 'PAID',
      total: { amountMinor: 4900, currency: 'USD' },
    });

    const enrollment = await eventually('the paid enrollment', async () => {
      const e = await enrollmentOf(learner, paid.courseId);
      return e?.status === 'ACTIVE' ? e : undefined;
    });
    expect(enrollment.mode).toBe('PAID');

    const complete = `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { status progress { percent } certificate { publicId } } }`;
    expect(
      (await gql(complete, { c: paid.courseId, l: paid.lessonIds[0] }, learner.token)).body.data!.completeLesson
        .progress.percent,
    ).toBe(50);
    const done = (await gql(complete, { c: paid.courseId, l: paid.lessonIds[1] }, learner.token)).body.data!
      .completeLesson;
    expect(done.status).toBe('COMPLETED');

    // A third party verifies the certificate; names come from identity and course through the graph.
    const verified = await gql(
      `query($p: String!) { certificate(publicId: $p) { holder { id name } course { title instructor { name } } } }`,
      { p: done.certificate.publicId },
    );
    expect(verified.body.data!.certificate).toEqual({
      holder: { id: learner.userId, name: learner.name },
      course: { title: paid.title, instructor: { name: instructor.name } },
    });
  });

  it('a declined card: a clear error, a failed order, no enrollment', async () => {
    const learner = await person(e2e);
    const res = await checkoutWhenPurchasable(gql, learner, paid.courseId, SANDBOX_CARDS.declined);
    expect(errorCode(res)).toBe('PAYMENT_DECLINED');
    expect(res.body.errors![0]!.message).toMatch(/declined/i);
    const orders = await gql(`{ myOrders { edges { node { status } } } }`, {}, learner.token);
    expect(orders.body.data!.myOrders.edges.map((e: any) => e.node.status)).toEqual(['FAILED']);
    // A later purchase by someone else is processed in stream order after this one: once it is
    // enrolled, the declined learner's events have been handled too.
    const sentinel = await person(e2e);
    await checkoutWhenPurchasable(gql, sentinel, paid.courseId, SANDBOX_CARDS.success);
    await eventually(
      'the sentinel enrollment',
      async () => (await enrollmentOf(sentinel, paid.courseId))?.status === 'ACTIVE',
    );
    expect(await enrollmentOf(learner, paid.courseId)).toBeNull();
  });

  it('a repeated checkout with the same key charges once and returns the same order', async () => {
    const learner = await person(e2e);
    const key = crypto.randomUUID();
    const first = await checkoutWhenPurchasable(gql, learner, paid.courseId, SANDBOX_CARDS.success, key);
    const again = await gql(
      CHECKOUT,
      { i: { courseId: paid.courseId, idempotencyKey: key, paymentMethod: SANDBOX_CARDS.success } },
      learner.token,
    );
    expect(again.body.data!.checkout.replayed).toBe(true);
    expect(again.body.data!.checkout.order.id).toBe(first.body.data!.checkout.order.id);
    expect(again.body.data!.checkout.order.payments).toHaveLength(1);
  });

  it('two concurrent checkouts of one course by one learner: one order wins', async () => {
    const learner = await person(e2e);
    const target = await publishCourse(gql, instructor, { priceMinor: 2500 });
    // Someone else's declined attempt tells us payment knows the course, without blocking the learner.
    await checkoutWhenPurchasable(gql, await person(e2e), target.courseId, SANDBOX_CARDS.declined);
    const results = await Promise.all(
      [1, 2].map(() =>
        gql(
          CHECKOUT,
          {
            i: { courseId: target.courseId, idempotencyKey: crypto.randomUUID(), paymentMethod: SANDBOX_CARDS.success },
          },
          learner.token,
        ),
      ),
    );
    expect(results.filter((r) => r.body.data?.checkout.order.status === 'PAID')).toHaveLength(1);
    expect(results.map(errorCode).filter(Boolean)).toEqual(['CONFLICT']);
  });

  it('a full refund revokes access through an event', async () => {
    const learner = await person(e2e);
    const order = (await checkoutWhenPurchasable(gql, learner, paid.courseId, SANDBOX_CARDS.success)).body.data!
      .checkout.order;
    await eventually(
      'the paid enrollment',
      async () => (await enrollmentOf(learner, paid.courseId))?.status === 'ACTIVE',
    );
    const refund = await gql(
      `mutation($o: ID!) { refundOrder(orderId: $o, reason: "requested by learner") { order { status } } }`,
      { o: order.id },
      admin.token,
    );
    expect(refund.body.data!.refundOrder.order.status).toBe('REFUNDED');
    const revoked = await eventually('access to be revoked', async () => {
      const e = await enrollmentOf(learner, paid.courseId);
      return e?.status === 'REVOKED' ? e : undefined;
    });
    expect(revoked.revokeReason).toBe('REFUNDED');
  });

  it('a free course is enrolled directly, and the catalog joins three subgraphs', async () => {
    const free = await publishCourse(gql, instructor, { priceMinor: 0 });
    const learner = await person(e2e);
    const enrol = await eventually('the free course in enrollment', async () => {
      const res = await gql(
        `mutation($c: ID!) { enrol(courseId: $c) { status mode } }`,
        { c: free.courseId },
        learner.token,
      );
      return errorCode(res) === 'NOT_FOUND' ? undefined : res;
    });
    expect(enrol.body.data!.enrol).toEqual({ status: 'ACTIVE', mode: 'FREE' });
    const catalog = await gql(
      `query($i: ID!) { catalog(filter: { instructorId: $i, isFree: true }, first: 50) {
      edges { node { id title isFree instructor { name } moduleCount lessonCount enrollmentCount } } } }`,
      { i: instructor.userId },
    );
    const row = catalog.body.data!.catalog.edges.map((e: any) => e.node).find((n: any) => n.id === free.courseId);
    expect(row).toEqual({
      id: free.courseId,
      title: free.title,
      isFree: true,
      instructor: { name: instructor.name },
      moduleCount: 1,
      lessonCount: 2,
      enrollmentCount: 1,
    });
  });
});

describe('invalid input on every content-contour mutation, through the gateway', () => {
  it('gets a clear error and changes nothing', async () => {
    const learner = await person(e2e);
    const draft = (
      await gql(
        `mutation { createCourse(input: { title: "Draft for bad input", category: "programming", level: BEGINNER, language: "en" }) { id } }`,
        {},
        instructor.token,
      )
    ).body.data!.createCourse;
    const state = async () => {
      const [mine, orders, enrollments] = await Promise.all([
        gql(
          `query($c: ID!) { course(id: $c) { draft { title modules { id } prerequisites { id } } price { amountMinor } } }`,
          { c: draft.id },
          instructor.token,
        ),
        gql(`{ myOrders { totalCount } }`, {}, learner.token),
        gql(`{ myEnrollments { totalCount } }`, {}, learner.token),
      ]);
      return {
        course: mine.body.data!.course,
        orders: orders.body.data!.myOrders.totalCount,
        enrollments: enrollments.body.data!.myEnrollments.totalCount,
      };
    };
    const before = await state();
    const unknown = crypto.randomUUID();
    const cases: [string, string, Record<string, unknown>, string, string][] = [
      // [mutation, caller, variables, expected code, expected field or message fragment]
      [
        'mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }',
        'instructor',
        { i: { title: 'x', category: 'programming', level: 'BEGINNER', language: 'en' } },
        'BAD_USER_INPUT',
        'title',
      ],
      [
        'mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }',
        'learner',
        { i: { title: 'Learners cannot author', category: 'programming', level: 'BEGINNER', language: 'en' } },
        'FORBIDDEN',
        '',
      ],
      [
        'mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }',
        'instructor',
        { i: { courseId: draft.id, price: { amountMinor: -1, currency: 'USD' } } },
        'BAD_USER_INPUT',
        'price',
      ],
      [
        'mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }',
        'instructor',
        { i: { courseId: draft.id, price: { amountMinor: 100, currency: 'usd!' } } },
        'BAD_USER_INPUT',
        'price',
      ],
      [
        'mutation($i: AddModuleInput!) { addModule(input: $i) { id } }',
        'instructor',
        { i: { courseId: draft.id, title: '' } },
        'BAD_USER_INPUT',
        'title',
      ],
      [
        'mutation($i: AddLessonInput!) { addLesson(input: $i) { id } }',
        'instructor',
        { i: { moduleId: unknown, title: 'Orphan', kind: 'VIDEO' } },
        'NOT_FOUND',
        '',
      ],
      [
        'mutation($c: ID!, $p: [ID!]!) { setPrerequisites(courseId: $c, prerequisiteIds: $p) { id } }',
        'instructor',
        { c: draft.id, p: [draft.id] },
        'BAD_USER_INPUT',
        '',
      ],
      ['mutation($c: ID!) { publishCourse(courseId: $c) { id } }', 'instructor', { c: draft.id }, 'BAD_USER_INPUT', ''],
      ['mutation($c: ID!) { archiveCourse(courseId: $c) { id } }', 'learner', { c: paid.courseId }, 'FORBIDDEN', ''],
      [
        'mutation($i: CheckoutInput!) { checkout(input: $i) { order { id } } }',
        'learner',
        { i: { courseId: paid.courseId, idempotencyKey: 'short', paymentMethod: SANDBOX_CARDS.success } },
        'BAD_USER_INPUT',
        'idempotencyKey',
      ],
      [
        'mutation($i: CheckoutInput!) { checkout(input: $i) { order { id } } }',
        'learner',
        { i: { courseId: paid.courseId, idempotencyKey: crypto.randomUUID(), paymentMethod: '1234' } },
        'BAD_USER_INPUT',
        'paymentMethod',
      ],
      [
        'mutation($i: CheckoutInput!) { checkout(input: $i) { order { id } } }',
        'learner',
        { i: { courseId: 'nope', idempotencyKey: crypto.randomUUID(), paymentMethod: SANDBOX_CARDS.success } },
        'BAD_USER_INPUT',
        'courseId',
      ],
      [
        'mutation($i: CheckoutInput!) { checkout(input: $i) { order { id } } }',
        'learner',
        {
          i: {
            courseId: paid.courseId,
            idempotencyKey: crypto.randomUUID(),
            paymentMethod: SANDBOX_CARDS.success,
            couponCode: 'NO-SUCH-COUPON',
          },
        },
        'BAD_USER_INPUT',
        'couponCode',
      ],
      [
        'mutation($o: ID!) { refundOrder(orderId: $o, reason: "x") { order { id } } }',
        'learner',
        { o: unknown },
        'FORBIDDEN',
        '',
      ],
      [
        'mutation($i: CreateCouponInput!) { createCoupon(input: $i) { code } }',
        'learner',
        { i: { code: 'LEARNER', percentOff: 10 } },
        'FORBIDDEN',
        '',
      ],
      ['mutation($c: ID!) { enrol(courseId: $c) { id } }', 'learner', { c: paid.courseId }, 'BAD_USER_INPUT', 'mode'],
      ['mutation($c: ID!) { enrol(courseId: $c) { id } }', 'learner', { c: unknown }, 'NOT_FOUND', ''],
      [
        'mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { id } }',
        'learner',
        { c: paid.courseId, l: paid.lessonIds[0] },
        'BAD_USER_INPUT',
        'courseId',
      ],
      [
        'mutation($c: ID!) { unenrol(courseId: $c) { id } }',
        'learner',
        { c: paid.courseId },
        'BAD_USER_INPUT',
        'courseId',
      ],
    ];
    for (const [mutation, caller, variables, code, field] of cases) {
      const res = await gql(mutation, variables, caller === 'learner' ? learner.token : instructor.token);
      const error = res.body.errors?.[0];
      expect(error?.extensions?.code, `${mutation} ${JSON.stringify(variables)}`).toBe(code);
      expect(error?.message.length, 'a message a person can read').toBeGreaterThan(10);
      if (field) expect(String(error?.extensions?.field), mutation).toMatch(new RegExp(`^${field}`));
    }
    expect(await state()).toEqual(before);
  });
});
