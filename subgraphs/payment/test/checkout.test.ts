import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import { PaymentEvents } from '@coursegraph/contracts';
import { errorCode } from '@coursegraph/test-support';
import { chargeKey } from '../src/domain/checkout.js';
import { SandboxProvider, type ChargeRequest, type ChargeResult } from '../src/providers/index.js';
import { CHECKOUT, newKey, SANDBOX_CARDS, startPayment, type PaymentHarness } from './harness.js';

/** A sandbox that can crash once right after charging, as a process dying before its commit would. */
class CrashingSandbox extends SandboxProvider {
  crashAfterNextCharge = false;
  override async charge(request: ChargeRequest): Promise<ChargeResult> {
    const result = await super.charge(request);
    if (this.crashAfterNextCharge) {
      this.crashAfterNextCharge = false;
      throw new Error('simulated crash after the charge');
    }
    return result;
  }
}

let h: PaymentHarness;
let sandbox: CrashingSandbox;
beforeAll(async () => {
  sandbox = new CrashingSandbox();
  h = await startPayment({ provider: sandbox });
});
afterAll(async () => {
  await h.close();
});

const checkout = (token: string, input: Record<string, unknown>) => h.gql(CHECKOUT, { input }, token);

describe('checkout', () => {
  it('charges once, marks the order PAID, balances the ledger and writes the succeeded event', async () => {
    const courseId = await h.publishCourse({ priceMinor: 4900, currency: 'USD' });
    const { token, userId } = await h.user();
    const res = await checkout(token, { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success });
    expect(res.body.errors).toBeUndefined();
    const { order, replayed } = res.body.data!.checkout;
    expect(replayed).toBe(false);
    expect(order).toMatchObject({
      status: 'PAID',
      course: { id: courseId },
      buyer: { id: userId },
      subtotal: { amountMinor: 4900, currency: 'USD' },
      discount: { amountMinor: 0, currency: 'USD' },
      total: { amountMinor: 4900, currency: 'USD' },
      refundedTotal: { amountMinor: 0, currency: 'USD' },
      couponCode: null,
      failureReason: null,
    });
    expect(order.paidAt).toMatch(/Z$/);
    expect(order.payments).toHaveLength(1);
    expect(order.payments[0]).toMatchObject({
      provider: 'sandbox',
      status: 'SUCCEEDED',
      amount: { amountMinor: 4900, currency: 'USD' },
    });
    expect(order.payments[0].providerPaymentId).toMatch(/^sb_pi_/);
    expect(sandbox.chargesMade(chargeKey(order.id))).toBe(1);

    const ledger = await h.ledgerOf(order.id);
    expect(ledger.sums).toEqual({ USD: 0 });
    expect(ledger.byAccount('CHARGE')).toEqual({ provider_clearing: 4900, platform_revenue: -4900 });

    const events = await h.outbox(PaymentEvents.succeeded, order.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      orderId: order.id,
      paymentId: order.payments[0].id,
      userId,
      courseId,
      paidAt: order.paidAt,
    });
    expect(events[0]!.amount).toMatchObject({ amountMinor: 4900n, currency: 'USD' });
  });

  it.each([
    ['declined', SANDBOX_CARDS.declined, 'DECLINED', /declined/],
    ['insufficient funds', SANDBOX_CARDS.insufficientFunds, 'INSUFFICIENT_FUNDS', /insufficient funds/],
  ])(
    '%s: PAYMENT_DECLINED, order FAILED, failed event, no money in the ledger',
    async (_name, card, reason, message) => {
      const courseId = await h.publishCourse();
      const { token, userId } = await h.user();
      const res = await checkout(token, { courseId, idempotencyKey: newKey(), paymentMethod: card });
      expect(res.body.data).toBeNull();
      expect(errorCode(res)).toBe('PAYMENT_DECLINED');
      const error = res.body.errors![0]!;
      expect(error.message).toMatch(message);
      expect(error.extensions).toMatchObject({ reason });
      const [order] = await h.ordersOf(userId);
      expect(error.extensions!.orderId).toBe(order!.id);
      expect(order).toMatchObject({ status: 'FAILED', failureReason: reason, courseId });
      expect((await h.ledgerOf(order!.id)).entries).toEqual([]);
      const failed = await h.outbox(PaymentEvents.failed, order!.id);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ orderId: order!.id, userId, courseId, reason });
      expect(await h.outbox(PaymentEvents.succeeded, order!.id)).toEqual([]);
      const payments = await h.app.db.payment.findMany({ where: { orderId: order!.id } });
      expect(payments).toMatchObject([{ status: 'FAILED', failureReason: reason }]);
    },
  );

  it('after a failure the learner buys with a new key; the failed key keeps answering with its failure', async () => {
    const courseId = await h.publishCourse();
    const { token, userId } = await h.user();
    const failedKey = newKey();
    const failed = await checkout(token, {
      courseId,
      idempotencyKey: failedKey,
      paymentMethod: SANDBOX_CARDS.declined,
    });
    expect(failed.body.errors![0]!.extensions).toMatchObject({ reason: 'DECLINED' });
    const again = await checkout(token, { courseId, idempotencyKey: failedKey, paymentMethod: SANDBOX_CARDS.declined });
    expect(again.body.errors![0]!.extensions).toMatchObject({
      code: 'PAYMENT_DECLINED',
      reason: 'DECLINED',
      orderId: failed.body.errors![0]!.extensions!.orderId,
    });
    const paid = await checkout(token, { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success });
    expect(paid.body.data!.checkout.order.status).toBe('PAID');
    expect((await h.ordersOf(userId)).map((o) => o.status).sort()).toEqual(['FAILED', 'PAID']);
  });

  it('the same key twice: one charge, the same order, the second marked replayed', async () => {
    const courseId = await h.publishCourse();
    const { token, userId } = await h.user();
    const input = { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success };
    const first = await checkout(token, input);
    const second = await checkout(token, input);
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data!.checkout.order.id).toBe(first.body.data!.checkout.order.id);
    expect(second.body.data!.checkout).toMatchObject({ replayed: true, order: { status: 'PAID' } });
    const orderId = first.body.data!.checkout.order.id;
    expect(sandbox.chargeCalls(chargeKey(orderId))).toBe(1);
    expect(sandbox.chargesMade(chargeKey(orderId))).toBe(1);
    expect(await h.ordersOf(userId)).toHaveLength(1);
    expect(await h.outbox(PaymentEvents.succeeded, orderId)).toHaveLength(1);
  });

  it('the same key sent twice at once: one order, one charge, one event', async () => {
    const courseId = await h.publishCourse();
    const { token, userId } = await h.user();
    const input = { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success };
    const results = await Promise.all([checkout(token, input), checkout(token, input)]);
    for (const res of results) expect(res.body.errors).toBeUndefined();
    const [a, b] = results.map((r) => r.body.data!.checkout);
    expect(a.order.id).toBe(b.order.id);
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    expect(sandbox.chargesMade(chargeKey(a.order.id))).toBe(1);
    expect(await h.ordersOf(userId)).toHaveLength(1);
    expect(await h.outbox(PaymentEvents.succeeded, a.order.id)).toHaveLength(1);
    expect((await h.ledgerOf(a.order.id)).entries).toHaveLength(2);
  });

  it('the same key for another course, coupon or card is a CONFLICT and charges nothing more', async () => {
    const [courseA, courseB] = [await h.publishCourse(), await h.publishCourse()];
    const { token, userId } = await h.user();
    const key = newKey();
    const first = await checkout(token, {
      courseId: courseA,
      idempotencyKey: key,
      paymentMethod: SANDBOX_CARDS.success,
    });
    const orderId = first.body.data!.checkout.order.id;
    for (const change of [
      { courseId: courseB },
      { couponCode: 'WELCOME10' },
      { paymentMethod: SANDBOX_CARDS.declined },
    ]) {
      const res = await checkout(token, {
        courseId: courseA,
        idempotencyKey: key,
        paymentMethod: SANDBOX_CARDS.success,
        ...change,
      });
      expect(errorCode(res)).toBe('CONFLICT');
      expect(res.body.errors![0]!.extensions!.field).toBe('idempotencyKey');
    }
    expect(await h.ordersOf(userId)).toHaveLength(1);
    expect(sandbox.chargeCalls(chargeKey(orderId))).toBe(1);
  });

  it('keys belong to their user: two learners may use the same key', async () => {
    const courseId = await h.publishCourse();
    const key = newKey();
    const [a, b] = [await h.user(), await h.user()];
    const resA = await checkout(a.token, { courseId, idempotencyKey: key, paymentMethod: SANDBOX_CARDS.success });
    const resB = await checkout(b.token, { courseId, idempotencyKey: key, paymentMethod: SANDBOX_CARDS.success });
    expect(resA.body.data!.checkout.order.id).not.toBe(resB.body.data!.checkout.order.id);
    expect(resB.body.data!.checkout.replayed).toBe(false);
  });

  it('two concurrent checkouts of one course by one learner: one order wins, the other is a CONFLICT', async () => {
    const courseId = await h.publishCourse();
    const { token, userId } = await h.user();
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        checkout(token, { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success }),
      ),
    );
    const won = results.filter((r) => r.body.data?.checkout);
    const lost = results.filter((r) => errorCode(r) === 'CONFLICT');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(2);
    for (const r of lost) expect(r.body.errors![0]!.message).toMatch(/You already have an order for this course/);
    const orders = await h.ordersOf(userId);
    expect(orders).toHaveLength(1);
    expect(orders[0]!.status).toBe('PAID');
  });

  it('a learner who already paid for the course gets a CONFLICT naming the order', async () => {
    const courseId = await h.publishCourse();
    const { token } = await h.user();
    const paid = await checkout(token, { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success });
    const res = await checkout(token, { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success });
    expect(errorCode(res)).toBe('CONFLICT');
    expect(res.body.errors![0]!.message).toBe('You already have an order for this course.');
    expect(res.body.errors![0]!.extensions!.orderId).toBe(paid.body.data!.checkout.order.id);
  });

  it('resumes an order left PENDING by a crash after the charge, without charging again', async () => {
    const courseId = await h.publishCourse();
    const { token, userId } = await h.user();
    const input = { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success };
    sandbox.crashAfterNextCharge = true;
    const crashed = await checkout(token, input);
    expect(errorCode(crashed)).toBe('INTERNAL');
    const [pending] = await h.ordersOf(userId);
    expect(pending!.status).toBe('PENDING');
    expect(sandbox.chargesMade(chargeKey(pending!.id))).toBe(1);

    // Meanwhile another key for the course is refused: the pending order holds it.
    const other = await checkout(token, { ...input, idempotencyKey: newKey() });
    expect(errorCode(other)).toBe('CONFLICT');

    const resumed = await checkout(token, input);
    expect(resumed.body.data!.checkout).toMatchObject({ replayed: true, order: { id: pending!.id, status: 'PAID' } });
    expect(sandbox.chargeCalls(chargeKey(pending!.id))).toBe(2);
    expect(sandbox.chargesMade(chargeKey(pending!.id))).toBe(1);
    expect(await h.outbox(PaymentEvents.succeeded, pending!.id)).toHaveLength(1);
  });

  it('refuses unknown, archived and free courses, creating nothing', async () => {
    const { token, userId } = await h.user();
    const unknown = await checkout(token, {
      courseId: newId(),
      idempotencyKey: newKey(),
      paymentMethod: SANDBOX_CARDS.success,
    });
    expect(errorCode(unknown)).toBe('NOT_FOUND');

    const free = await h.publishCourse({ priceMinor: 0 });
    const freeRes = await checkout(token, {
      courseId: free,
      idempotencyKey: newKey(),
      paymentMethod: SANDBOX_CARDS.success,
    });
    expect(errorCode(freeRes)).toBe('BAD_USER_INPUT');
    expect(freeRes.body.errors![0]!.message).toMatch(/free courses need no checkout; enrol directly/);

    const archived = await h.publishCourse();
    await h.archiveCourse(archived);
    const archivedRes = await checkout(token, {
      courseId: archived,
      idempotencyKey: newKey(),
      paymentMethod: SANDBOX_CARDS.success,
    });
    expect(errorCode(archivedRes)).toBe('BAD_USER_INPUT');
    expect(archivedRes.body.errors![0]!.message).toMatch(/archived/);
    expect(await h.ordersOf(userId)).toEqual([]);
  });

  it.each([
    ['a course id that is not a UUID', { courseId: 'course-1' }, 'courseId'],
    ['a short idempotency key', { idempotencyKey: 'short' }, 'idempotencyKey'],
    ['an idempotency key with spaces', { idempotencyKey: 'has spaces in it' }, 'idempotencyKey'],
    ['a card the sandbox does not know', { paymentMethod: '4111111111111111' }, 'paymentMethod'],
    ['an empty payment method', { paymentMethod: '  ' }, 'paymentMethod'],
    ['an unknown coupon', { couponCode: 'NO-SUCH-COUPON' }, 'couponCode'],
  ])('refuses %s with BAD_USER_INPUT, creating nothing', async (_name, change, field) => {
    const courseId = await h.publishCourse();
    const { token, userId } = await h.user();
    const res = await checkout(token, {
      courseId,
      idempotencyKey: newKey(),
      paymentMethod: SANDBOX_CARDS.success,
      ...change,
    });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe(field);
    expect(await h.ordersOf(userId)).toEqual([]);
  });

  it('needs a signed-in user', async () => {
    const courseId = await h.publishCourse();
    const res = await h.gql(CHECKOUT, {
      input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success },
    });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });
});

describe('reading orders', () => {
  it('order(id) is visible to its buyer and admins only; myOrders and User.orders page newest first', async () => {
    const { token, userId } = await h.user();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const courseId = await h.publishCourse();
      const res = await checkout(token, { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success });
      ids.push(res.body.data!.checkout.order.id);
    }
    const ORDER = `query($id: ID!) { order(id: $id) { id status } }`;
    expect((await h.gql(ORDER, { id: ids[0] }, token)).body.data!.order).toEqual({ id: ids[0], status: 'PAID' });
    const stranger = await h.user();
    expect((await h.gql(ORDER, { id: ids[0] }, stranger.token)).body.data!.order).toBeNull();
    const admin = await h.user('ADMIN');
    expect((await h.gql(ORDER, { id: ids[0] }, admin.token)).body.data!.order.id).toBe(ids[0]);

    const MINE = `query($after: String) { myOrders(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`;
    const page1 = (await h.gql(MINE, {}, token)).body.data!.myOrders;
    expect(page1.totalCount).toBe(3);
    expect(page1.edges.map((e: any) => e.node.id)).toEqual([ids[2], ids[1]]);
    const page2 = (await h.gql(MINE, { after: page1.pageInfo.endCursor }, token)).body.data!.myOrders;
    expect(page2.edges.map((e: any) => e.node.id)).toEqual([ids[0]]);
    expect(page2.pageInfo.hasNextPage).toBe(false);

    const USER_ORDERS = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { orders { totalCount } } } }`;
    const reps = [{ __typename: 'User', id: userId }];
    expect((await h.gql(USER_ORDERS, { reps }, admin.token)).body.data!._entities[0].orders.totalCount).toBe(3);
    expect(errorCode(await h.gql(USER_ORDERS, { reps }, stranger.token))).toBe('FORBIDDEN');
  });
});
