/**
 * The content contour end to end: identity, course, enrollment, payment and the gateway as
 * processes, joined by events on NATS JetStream. Every call goes through the single endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../support/graphql.js';
import {
  CHECKOUT, SANDBOX_CARDS, VIEWER_ENROLLMENT, checkoutWhenPurchasable, eventually, person, publishCourse, startE2E,
  type E2E, type Gql, type Person, type PublishedCourse,
} from '../support/journeys.js';

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
    expect(checkout.body.data!.checkout.order).toMatchObject({ status: 'PAID', total: { amountMinor: 4900, currency: 'USD' } });

    const enrollment = await eventually('the paid enrollment', async () => {
      const e = await enrollmentOf(learner, paid.courseId);
      return e?.status === 'ACTIVE' ? e : undefined;
    });
    expect(enrollment.mode).toBe('PAID');

    const complete = `mutation($c: ID!, $l: ID!) { completeLesson(courseId: $c, lessonId: $l) { status progress { percent } certificate { publicId } } }`;
    expect((await gql(complete, { c: paid.courseId, l: paid.lessonIds[0] }, learner.token)).body.data!.completeLesson.progress.percent).toBe(50);
    const done = (await gql(complete, { c: paid.courseId, l: paid.lessonIds[1] }, learner.token)).body.data!.completeLesson;
    expect(done.status).toBe('COMPLETED');

    // A third party verifies the certificate; names come from identity and course through the graph.
    const verified = await gql(`query($p: String!) { certificate(publicId: $p) { holder { id name } course { title instructor { name } } } }`, { p: done.certificate.publicId });
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
    await eventually('the sentinel enrollment', async () => (await enrollmentOf(sentinel, paid.courseId))?.status === 'ACTIVE');
    expect(await enrollmentOf(learner, paid.courseId)).toBeNull();
  });

  it('a repeated checkout with the same key charges once and returns the same order', async () => {
    const learner = await person(e2e);
    const key = crypto.randomUUID();
    const first = await checkoutWhenPurchasable(gql, learner, paid.courseId, SANDBOX_CARDS.success, key);
    const again = await gql(CHECKOUT, { i: { courseId: paid.courseId, idempotencyKey: key, paymentMethod: SANDBOX_CARDS.success } }, learner.token);
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
      [1, 2].map(() => gql(CHECKOUT, { i: { courseId: target.courseId, idempotencyKey: crypto.randomUUID(), paymentMethod: SANDBOX_CARDS.success } }, learner.token)),
    );
    expect(results.filter((r) => r.body.data?.checkout.order.status === 'PAID')).toHaveLength(1);
    expect(results.map(errorCode).filter(Boolean)).toEqual(['CONFLICT']);
  });

  it('a full refund revokes access through an event', async () => {
    const learner = await person(e2e);
    const order = (await checkoutWhenPurchasable(gql, learner, paid.courseId, SANDBOX_CARDS.success)).body.data!.checkout.order;
    await eventually('the paid enrollment', async () => (await enrollmentOf(learner, paid.courseId))?.status === 'ACTIVE');
    const refund = await gql(`mutation($o: ID!) { refundOrder(orderId: $o, reason: "requested by learner") { order { status } } }`, { o: order.id }, admin.token);
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
      const res = await gql(`mutation($c: ID!) { enrol(courseId: $c) { status mode } }`, { c: free.courseId }, learner.token);
      return errorCode(res) === 'NOT_FOUND' ? undefined : res;
    });
    expect(enrol.body.data!.enrol).toEqual({ status: 'ACTIVE', mode: 'FREE' });
    const catalog = await gql(`query($i: ID!) { catalog(filter: { instructorId: $i, isFree: true }, first: 50) {
      edges { node { id title isFree instructor { name } moduleCount lessonCount enrollmentCount } } } }`, { i: instructor.userId });
    const row = catalog.body.data!.catalog.edges.map((e: any) => e.node).find((n: any) => n.id === free.courseId);
    expect(row).toEqual({ id: free.courseId, title: free.title, isFree: true, instructor: { name: instructor.name }, moduleCount: 1, lessonCount: 2, enrollmentCount: 1 });
  });
});
