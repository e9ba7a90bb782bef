import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import { PaymentEvents } from '@coursegraph/contracts';
import { errorCode } from '@coursegraph/test-support';
import { CHECKOUT, newKey, REFUND, SANDBOX_CARDS, startPayment, type PaymentHarness } from './harness.js';
import type { SandboxProvider } from '../src/providers/index.js';

let h: PaymentHarness;
let admin: string;
beforeAll(async () => {
  h = await startPayment();
  admin = (await h.user('ADMIN')).token;
});
afterAll(async () => {
  await h.close();
});

async function paidOrder(priceMinor = 5000) {
  const courseId = await h.publishCourse({ priceMinor });
  const learner = await h.user();
  const res = await h.gql(
    CHECKOUT,
    { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success } },
    learner.token,
  );
  const order = res.body.data!.checkout.order;
  return { order, courseId, learner, providerPaymentId: order.payments[0].providerPaymentId as string };
}

const refund = (orderId: string, amount: number | null, reason = 'customer asked', token = admin) =>
  h.gql(REFUND, { orderId, amount, reason }, token);

const orderRow = (id: string) => h.app.db.order.findUniqueOrThrow({ where: { id } });

describe('refundOrder', () => {
  it('a partial then a full refund: transitions, events, provider refunds and a balanced ledger', async () => {
    const { order, courseId, learner, providerPaymentId } = await paidOrder(5000);

    const partial = await refund(order.id, 1500, 'one module was broken');
    expect(partial.body.errors).toBeUndefined();
    expect(partial.body.data!.refundOrder.order).toMatchObject({
      status: 'PARTIALLY_REFUNDED',
      refundedTotal: { amountMinor: 1500, currency: 'USD' },
    });
    expect(partial.body.data!.refundOrder.refund).toMatchObject({
      reason: 'one module was broken',
      amount: { amountMinor: 1500, currency: 'USD' },
    });

    const second = await refund(order.id, 1000);
    expect(second.body.data!.refundOrder.order).toMatchObject({
      status: 'PARTIALLY_REFUNDED',
      refundedTotal: { amountMinor: 2500 },
    });

    const full = await refund(order.id, null, 'changed their mind');
    const final = full.body.data!.refundOrder.order;
    expect(final).toMatchObject({ status: 'REFUNDED', refundedTotal: { amountMinor: 5000 } });
    expect(final.refunds.map((r: any) => r.amount.amountMinor)).toEqual([1500, 1000, 2500]);

    const events = await h.outbox(PaymentEvents.refundIssued, order.id);
    expect(events.map((e) => [Number(e.amount!.amountMinor), e.full])).toEqual([
      [1500, false],
      [1000, false],
      [2500, true],
    ]);
    expect(events[2]).toMatchObject({
      orderId: order.id,
      userId: learner.userId,
      courseId,
      refundId: final.refunds[2].id,
    });

    expect((h.provider as SandboxProvider).refundsOf(providerPaymentId).map((r) => r.amount)).toEqual([
      1500, 1000, 2500,
    ]);
    const ledger = await h.ledgerOf(order.id);
    expect(ledger.sums).toEqual({ USD: 0 });
    const refundEntries = ledger.entries.filter((e) => e.kind === 'REFUND');
    expect(refundEntries.filter((e) => e.account === 'refunds').map((e) => e.amountMinor)).toEqual([1500, 1000, 2500]);
    expect(refundEntries.filter((e) => e.account === 'provider_clearing').map((e) => e.amountMinor)).toEqual([
      -1500, -1000, -2500,
    ]);
    expect(new Set(refundEntries.map((e) => e.transactionId)).size).toBe(3);

    // Refunded in full: a refunded order is final, and the learner may buy the course again.
    const more = await refund(order.id, 1);
    expect(errorCode(more)).toBe('CONFLICT');
    const again = await h.gql(
      CHECKOUT,
      { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success } },
      learner.token,
    );
    expect(again.body.data!.checkout.order.status).toBe('PAID');
  });

  it('refuses more than is left with BAD_USER_INPUT, changing nothing', async () => {
    const { order } = await paidOrder(2000);
    await refund(order.id, 500);
    const over = await refund(order.id, 1501);
    expect(errorCode(over)).toBe('BAD_USER_INPUT');
    expect(over.body.errors![0]!.extensions!.field).toBe('amount');
    expect(over.body.errors![0]!.message).toMatch(/1500 USD/);
    expect(await orderRow(order.id)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedMinor: 500 });
    expect(await h.app.db.refund.count({ where: { orderId: order.id } })).toBe(1);
    expect(await h.outbox(PaymentEvents.refundIssued, order.id)).toHaveLength(1);
  });

  it('refuses to refund a FAILED order (an invalid transition) with CONFLICT', async () => {
    const courseId = await h.publishCourse();
    const learner = await h.user();
    await h.gql(
      CHECKOUT,
      { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.declined } },
      learner.token,
    );
    const [failed] = await h.ordersOf(learner.userId);
    const res = await refund(failed!.id, null);
    expect(errorCode(res)).toBe('CONFLICT');
    expect(res.body.errors![0]!.message).toMatch(/FAILED/);
    expect(await h.app.db.refund.count({ where: { orderId: failed!.id } })).toBe(0);
  });

  it.each([
    ['a zero amount', { amount: 0 }, 'amount'],
    ['a negative amount', { amount: -100 }, 'amount'],
    ['a blank reason', { reason: '   ' }, 'reason'],
    ['an order id that is not a UUID', { orderId: 'order-1' }, 'orderId'],
  ])('refuses %s with BAD_USER_INPUT, changing nothing', async (_name, change, field) => {
    const { order } = await paidOrder();
    const res = await h.gql(REFUND, { orderId: order.id, amount: 100, reason: 'r', ...change }, admin);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!.field).toBe(field);
    expect(await orderRow(order.id)).toMatchObject({ status: 'PAID', refundedMinor: 0 });
    expect(await h.app.db.refund.count({ where: { orderId: order.id } })).toBe(0);
  });

  it('is for admins only; an unknown order is NOT_FOUND', async () => {
    const { order, learner } = await paidOrder();
    expect(errorCode(await refund(order.id, null, 'mine', learner.token))).toBe('FORBIDDEN');
    expect(errorCode(await refund(order.id, null, 'anon', ''))).toBe('UNAUTHENTICATED');
    expect(errorCode(await refund(newId(), null))).toBe('NOT_FOUND');
    expect((await orderRow(order.id)).status).toBe('PAID');
  });

  it('two concurrent refunds of one order never exceed what was paid', async () => {
    const { order } = await paidOrder(1000);
    const results = await Promise.all([refund(order.id, 700), refund(order.id, 700)]);
    expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === 'BAD_USER_INPUT')).toHaveLength(1);
    expect(await orderRow(order.id)).toMatchObject({ refundedMinor: 700, status: 'PARTIALLY_REFUNDED' });
  });
});

describe('saga compensation: enrollment.rejected', () => {
  it('refunds the order in full with the reason recorded, once', async () => {
    const { order, learner, courseId } = await paidOrder(3000);
    const row = await orderRow(order.id);
    await h.rejectEnrollment(row, 'PREREQUISITE_MISSING');
    expect(await orderRow(order.id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 3000 });
    const refunds = await h.app.db.refund.findMany({ where: { orderId: order.id } });
    expect(refunds).toMatchObject([
      {
        amountMinor: 3000,
        reason: 'Enrollment rejected: PREREQUISITE_MISSING',
        requestedBy: 'system:enrollment-rejected',
      },
    ]);
    const events = await h.outbox(PaymentEvents.refundIssued, order.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ full: true, userId: learner.userId, courseId });
    expect((await h.ledgerOf(order.id)).sums).toEqual({ USD: 0 });

    // The same rejection again (another event id) finds nothing left to refund.
    await h.rejectEnrollment(row, 'PREREQUISITE_MISSING');
    expect(await h.app.db.refund.count({ where: { orderId: order.id } })).toBe(1);
  });

  it('refunds what is left of a partially refunded order', async () => {
    const { order } = await paidOrder(3000);
    await refund(order.id, 1000);
    await h.rejectEnrollment(await orderRow(order.id), 'COURSE_FULL');
    expect(await orderRow(order.id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 3000 });
    const events = await h.outbox(PaymentEvents.refundIssued, order.id);
    expect(events.map((e) => [Number(e.amount!.amountMinor), e.full])).toEqual([
      [1000, false],
      [2000, true],
    ]);
  });

  it('ignores failed and unknown orders', async () => {
    const courseId = await h.publishCourse();
    const learner = await h.user();
    await h.gql(
      CHECKOUT,
      { input: { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.declined } },
      learner.token,
    );
    const [failed] = await h.ordersOf(learner.userId);
    await h.rejectEnrollment(failed!, 'whatever');
    await h.rejectEnrollment({ id: newId(), userId: learner.userId, courseId }, 'unknown');
    expect(await h.app.db.refund.count({ where: { userId: learner.userId } })).toBe(0);
  });
});
