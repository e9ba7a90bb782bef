/**
 * Payment under faults, with the sandbox's deterministic misbehaving cards and outages: lost
 * answers (timeout, 409, network error), one key sent concurrently, reconciliation by look-up, late
 * captures, provider webhooks (good and bad signatures, dashboard refunds, disputes) and saga
 * compensations while the provider is down. Each asserts the order, the ledger and the outbox
 * events enrollment acts on (payment.payment.succeeded exactly once per PAID order grants access;
 * payment.refund.issued with full=true revokes it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentEvents } from '@coursegraph/contracts';
import { errorCode } from '@coursegraph/test-support';
import { chargeKey } from '../src/domain/checkout.js';
import { backoffMs } from '../src/data/attempts.js';
import { SandboxProvider } from '../src/providers/index.js';
import { stripeSignatureHeader } from '../src/providers/stripe-webhook-signature.js';
import {
  CHECKOUT,
  newKey,
  REFUND,
  SANDBOX_CARDS,
  startPayment,
  WEBHOOK_SECRET,
  type PaymentHarness,
} from './harness.js';

let h: PaymentHarness;
let sandbox: SandboxProvider;
let admin: string;
beforeAll(async () => {
  sandbox = new SandboxProvider();
  h = await startPayment({ provider: sandbox });
  admin = (await h.user('ADMIN')).token;
});
afterAll(async () => {
  await h.close();
});

const checkout = (token: string, input: Record<string, unknown>) => h.gql(CHECKOUT, { input }, token);
const OPERATIONS = `{ paymentOperations { pendingOrders pendingCompensations oldestPendingAt } }`;
const webhookRows = (eventId: string) => h.app.db.webhookEvent.count({ where: { eventId } });

async function pendingCheckout(card: string) {
  const courseId = await h.publishCourse({ priceMinor: 4000 });
  const learner = await h.user();
  const input = { courseId, idempotencyKey: newKey(), paymentMethod: card };
  const res = await checkout(learner.token, input);
  expect(res.body.errors).toBeUndefined();
  const order = res.body.data!.checkout.order;
  expect(order.status).toBe('PENDING');
  return { order, learner, input, courseId };
}

async function paidOrder(priceMinor = 5000) {
  const courseId = await h.publishCourse({ priceMinor });
  const learner = await h.user();
  const res = await checkout(learner.token, {
    courseId,
    idempotencyKey: newKey(),
    paymentMethod: SANDBOX_CARDS.success,
  });
  const order = res.body.data!.checkout.order;
  return { order, learner, courseId, providerPaymentId: order.payments[0].providerPaymentId as string };
}

/** A Stripe-shaped event. */
const stripeEvent = (type: string, object: Record<string, unknown>) => ({
  id: `evt_${newKey('w').replace(/-/g, '')}`,
  object: 'event',
  type,
  data: { object },
});

describe('lost answers: the order stays PENDING and a look-up settles it', () => {
  it('a timeout after the charge: PENDING, no event, then the reconciler finds the charge: PAID, one succeeded event, balanced ledger', async () => {
    const { order, learner, courseId } = await pendingCheckout(SANDBOX_CARDS.timeoutAfterCharge);
    expect(sandbox.chargesMade(chargeKey(order.id))).toBe(1);
    expect(await h.outbox(PaymentEvents.succeeded, order.id)).toEqual([]);
    expect(await h.outbox(PaymentEvents.failed, order.id)).toEqual([]);
    expect((await h.ledgerOf(order.id)).entries).toEqual([]);
    const ops = (await h.gql(OPERATIONS, {}, admin)).body.data!.paymentOperations;
    expect(ops.pendingOrders).toBeGreaterThanOrEqual(1);
    expect(Date.parse(ops.oldestPendingAt)).toBeLessThanOrEqual(Date.parse(order.createdAt));

    expect(await h.reconcile([order.id])).toEqual({ checked: 1, resolved: 1 });
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'PAID' });
    const events = await h.outbox(PaymentEvents.succeeded, order.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ orderId: order.id, userId: learner.userId, courseId });
    const ledger = await h.ledgerOf(order.id);
    expect(ledger.sums).toEqual({ USD: 0 });
    expect(ledger.byAccount('CHARGE')).toEqual({ provider_clearing: 4000, platform_revenue: -4000 });

    // A second pass, and the webhook for the same charge, change nothing.
    expect(await h.reconcile([order.id])).toEqual({ checked: 0, resolved: 0 });
    const payment = await h.app.db.payment.findFirstOrThrow({ where: { orderId: order.id } });
    const hook = await h.webhook(
      stripeEvent('payment_intent.succeeded', {
        id: payment.providerPaymentId,
        status: 'succeeded',
        metadata: { order_id: order.id },
      }),
    );
    expect(hook.status).toBe(200);
    expect(await h.outbox(PaymentEvents.succeeded, order.id)).toHaveLength(1);
    expect((await h.ledgerOf(order.id)).entries).toHaveLength(2);
    expect(sandbox.chargesMade(chargeKey(order.id))).toBe(1);
  });

  it('a 409 "in progress" on two concurrent requests with one key: one charge, one order, one event', async () => {
    const courseId = await h.publishCourse({ priceMinor: 3000 });
    const learner = await h.user();
    const input = { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.conflictAfterCharge };
    const results = await Promise.all([checkout(learner.token, input), checkout(learner.token, input)]);
    for (const res of results) expect(res.body.errors).toBeUndefined();
    const [a, b] = results.map((r) => r.body.data!.checkout.order);
    expect(a.id).toBe(b.id);
    expect(await h.ordersOf(learner.userId)).toHaveLength(1);
    expect(sandbox.chargesMade(chargeKey(a.id))).toBe(1);
    // Neither request guessed: the provider's answer is known only once someone asks.
    expect(results.some((r) => r.body.data!.checkout.order.status === 'FAILED')).toBe(false);

    // The same key again re-sends under the provider key, which answers with the first outcome.
    const again = await checkout(learner.token, input);
    expect(again.body.data!.checkout).toMatchObject({ replayed: true, order: { id: a.id, status: 'PAID' } });
    expect(sandbox.chargesMade(chargeKey(a.id))).toBe(1);
    expect(await h.outbox(PaymentEvents.succeeded, a.id)).toHaveLength(1);
    expect((await h.ledgerOf(a.id)).sums).toEqual({ USD: 0 });
  });

  it('a network error before the provider: PENDING; the reconciler finds no charge and fails it; a new key buys the course', async () => {
    const { order, learner, input, courseId } = await pendingCheckout(SANDBOX_CARDS.networkError);
    expect(sandbox.chargesMade(chargeKey(order.id))).toBe(0);
    // While it is pending another key for the course is refused: the pending order holds it.
    expect(
      errorCode(
        await checkout(learner.token, { ...input, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success }),
      ),
    ).toBe('CONFLICT');

    expect(await h.reconcile([order.id])).toEqual({ checked: 1, resolved: 1 });
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'FAILED', failureReason: 'PROVIDER_UNAVAILABLE' });
    expect(await h.outbox(PaymentEvents.failed, order.id)).toHaveLength(1);
    expect(await h.outbox(PaymentEvents.succeeded, order.id)).toEqual([]);
    expect((await h.ledgerOf(order.id)).entries).toEqual([]);

    const replay = await checkout(learner.token, input);
    expect(replay.body.errors![0]!.extensions).toMatchObject({
      code: 'PAYMENT_DECLINED',
      reason: 'PROVIDER_UNAVAILABLE',
      orderId: order.id,
    });
    const paid = await checkout(learner.token, {
      courseId,
      idempotencyKey: newKey(),
      paymentMethod: SANDBOX_CARDS.success,
    });
    expect(paid.body.data!.checkout.order.status).toBe('PAID');
  });

  it('while the provider cannot answer a look-up, the order stays PENDING and is asked again later', async () => {
    const { order } = await pendingCheckout(SANDBOX_CARDS.timeoutAfterCharge);
    sandbox.down = true;
    try {
      expect(await h.reconcile([order.id])).toEqual({ checked: 1, resolved: 0 });
    } finally {
      sandbox.down = false;
    }
    const attempt = await h.app.db.providerAttempt.findFirstOrThrow({ where: { orderId: order.id, kind: 'CHARGE' } });
    expect(attempt).toMatchObject({ state: 'REQUESTED', tries: 2 });
    expect(attempt.lastError).toMatch(/outage/);
    expect((await h.orderRow(order.id)).status).toBe('PENDING');
    expect(await h.reconcile([order.id])).toEqual({ checked: 1, resolved: 1 });
    expect((await h.orderRow(order.id)).status).toBe('PAID');
    expect(await h.outbox(PaymentEvents.succeeded, order.id)).toHaveLength(1);
  });

  it('a charge that turns up after its order FAILED is recorded and refunded automatically; no access is granted', async () => {
    const { order } = await pendingCheckout(SANDBOX_CARDS.networkError);
    await h.reconcile([order.id]);
    expect((await h.orderRow(order.id)).status).toBe('FAILED');
    // The provider reports a success after all (the lost request went through).
    const providerPaymentId = sandbox.recordCharge(chargeKey(order.id), 4000, 'USD');
    const hook = await h.webhook(
      stripeEvent('payment_intent.succeeded', {
        id: providerPaymentId,
        status: 'succeeded',
        metadata: { order_id: order.id },
      }),
    );
    expect(hook).toEqual({ status: 200, body: { received: true, result: 'applied' } });
    expect(
      await h.app.db.providerAttempt.count({ where: { orderId: order.id, kind: 'REFUND', state: 'REQUESTED' } }),
    ).toBe(1);

    await h.reconcile([order.id]);
    const row = await h.orderRow(order.id);
    expect(row).toMatchObject({ status: 'FAILED', refundedMinor: 4000 });
    expect(sandbox.refundsOf(providerPaymentId).map((r) => r.amount)).toEqual([4000]);
    const ledger = await h.ledgerOf(order.id);
    expect(ledger.sums).toEqual({ USD: 0 });
    const clearing = ledger.entries
      .filter((e) => e.account === 'provider_clearing')
      .reduce((sum, e) => sum + e.amountMinor, 0);
    expect(clearing).toBe(0);
    expect(ledger.entries.map((e) => e.kind).sort()).toEqual(['CHARGE', 'CHARGE', 'REFUND', 'REFUND']);
    expect(await h.outbox(PaymentEvents.succeeded, order.id)).toEqual([]);
    expect(await h.outbox(PaymentEvents.refundIssued, order.id)).toEqual([]);
    expect(await h.app.db.payment.findMany({ where: { orderId: order.id } })).toMatchObject([
      { status: 'SUCCEEDED', providerPaymentId },
    ]);
  });
});

describe('the provider webhook', () => {
  it('refuses a forged, stale, missing or malformed signature with 400 and changes nothing', async () => {
    const { order } = await pendingCheckout(SANDBOX_CARDS.timeoutAfterCharge);
    const event = stripeEvent('payment_intent.succeeded', {
      id: 'pi_forged',
      status: 'succeeded',
      metadata: { order_id: order.id },
    });
    const body = JSON.stringify(event);
    const stale = stripeSignatureHeader(body, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3600);
    const cases: [string | null, string][] = [
      [stripeSignatureHeader(body, 'whsec_not_ours'), 'MISMATCH'],
      [stale, 'STALE'],
      [null, 'MISSING'],
      ['t=abc,v1=zz', 'MALFORMED'],
    ];
    for (const [signature, reason] of cases) {
      const res = await h.webhook(event, signature);
      expect(res).toEqual({ status: 400, body: { error: 'The Stripe-Signature header does not verify.', reason } });
    }
    // A body changed after signing does not verify either.
    const tampered = await h.webhook(
      { ...event, type: 'payment_intent.payment_failed' },
      stripeSignatureHeader(body, WEBHOOK_SECRET),
    );
    expect(tampered.status).toBe(400);
    expect(await webhookRows(event.id)).toBe(0);
    expect((await h.orderRow(order.id)).status).toBe('PENDING');
    expect(await h.outbox(PaymentEvents.succeeded, order.id)).toEqual([]);
    expect((await h.ledgerOf(order.id)).entries).toEqual([]);
  });

  it('payment_intent.succeeded settles a pending order once; a redelivery is a duplicate', async () => {
    const { order } = await pendingCheckout(SANDBOX_CARDS.timeoutAfterCharge);
    const event = stripeEvent('payment_intent.succeeded', {
      id: 'pi_from_webhook',
      status: 'succeeded',
      metadata: { order_id: order.id },
    });
    expect(await h.webhook(event)).toEqual({ status: 200, body: { received: true, result: 'applied' } });
    expect(await h.webhook(event)).toEqual({ status: 200, body: { received: true, result: 'duplicate' } });
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'PAID' });
    expect(await h.outbox(PaymentEvents.succeeded, order.id)).toHaveLength(1);
    expect((await h.ledgerOf(order.id)).sums).toEqual({ USD: 0 });
    expect(await h.app.db.payment.findMany({ where: { orderId: order.id } })).toMatchObject([
      { status: 'SUCCEEDED', providerPaymentId: 'pi_from_webhook' },
    ]);
  });

  it('payment_intent.payment_failed fails a pending order and gives its coupon use back', async () => {
    const { order } = await pendingCheckout(SANDBOX_CARDS.networkError);
    const event = stripeEvent('payment_intent.payment_failed', {
      id: 'pi_failed',
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds' },
      metadata: { order_id: order.id },
    });
    expect((await h.webhook(event)).status).toBe(200);
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'FAILED', failureReason: 'INSUFFICIENT_FUNDS' });
    expect(await h.outbox(PaymentEvents.failed, order.id)).toHaveLength(1);
    expect((await h.ledgerOf(order.id)).entries).toEqual([]);
  });

  it('charge.refunded from the dashboard records the refund, its ledger entries and event; refunds payment made itself are not counted twice', async () => {
    const { order, providerPaymentId } = await paidOrder(5000);
    const dashboard = await h.webhook(
      stripeEvent('charge.refunded', {
        id: 'ch_dash',
        object: 'charge',
        payment_intent: providerPaymentId,
        amount: 5000,
        amount_refunded: 1500,
      }),
    );
    expect(dashboard.status).toBe(200);
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedMinor: 1500 });
    expect(await h.app.db.refund.findMany({ where: { orderId: order.id } })).toMatchObject([
      { amountMinor: 1500, requestedBy: 'system:provider-dashboard' },
    ]);

    // payment's own refund of the rest, then Stripe's charge.refunded for it: already known.
    const ours = await h.gql(REFUND, { orderId: order.id, amount: null, reason: 'the rest' }, admin);
    expect(ours.body.data!.refundOrder.order.status).toBe('REFUNDED');
    const echo = await h.webhook(
      stripeEvent('charge.refunded', {
        id: 'ch_dash',
        object: 'charge',
        payment_intent: providerPaymentId,
        amount: 5000,
        amount_refunded: 5000,
      }),
    );
    expect(echo.body).toEqual({ received: true, result: 'ignored' });
    expect(await h.app.db.refund.count({ where: { orderId: order.id } })).toBe(2);
    const events = await h.outbox(PaymentEvents.refundIssued, order.id);
    expect(events.map((e) => [Number(e.amount!.amountMinor), e.full])).toEqual([
      [1500, false],
      [3500, true],
    ]);
    const ledger = await h.ledgerOf(order.id);
    expect(ledger.sums).toEqual({ USD: 0 });
    expect(ledger.entries.filter((e) => e.account === 'refunds').map((e) => e.amountMinor)).toEqual([1500, 3500]);
  });

  it('charge.dispute.created records the dispute and takes access away at once (full refund event); redelivered, it does nothing more', async () => {
    const { order, providerPaymentId, learner } = await paidOrder(2500);
    const dispute = {
      id: `dp_${newKey('d').replace(/-/g, '')}`,
      object: 'dispute',
      amount: 2500,
      currency: 'usd',
      payment_intent: providerPaymentId,
      charge: 'ch_x',
      reason: 'fraudulent',
      status: 'needs_response',
    };
    expect((await h.webhook(stripeEvent('charge.dispute.created', dispute))).body).toEqual({
      received: true,
      result: 'applied',
    });
    // The same dispute under another event id (Stripe may send it twice).
    expect((await h.webhook(stripeEvent('charge.dispute.created', dispute))).body).toEqual({
      received: true,
      result: 'duplicate',
    });
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
    expect(await h.app.db.dispute.findMany({ where: { orderId: order.id } })).toMatchObject([
      { providerDisputeId: dispute.id, amountMinor: 2500, reason: 'fraudulent', status: 'needs_response' },
    ]);
    const events = await h.outbox(PaymentEvents.refundIssued, order.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ full: true, userId: learner.userId });
    expect((await h.ledgerOf(order.id)).sums).toEqual({ USD: 0 });

    await h.webhook(stripeEvent('charge.dispute.closed', { ...dispute, status: 'lost' }));
    expect((await h.app.db.dispute.findFirstOrThrow({ where: { orderId: order.id } })).status).toBe('lost');
  });

  it('answers 503 when no signing secret is configured', async () => {
    const bare = await startPayment({ provider: sandbox, env: { STRIPE_WEBHOOK_SECRET: '' } });
    try {
      const res = await bare.webhook(stripeEvent('payment_intent.succeeded', { id: 'pi_x' }));
      expect(res.status).toBe(503);
    } finally {
      await bare.close();
    }
  });
});

describe('refunds while the provider is down', () => {
  it('a saga compensation is recorded, not dead-lettered; it waits visibly and is retried until the provider answers', async () => {
    const { order, providerPaymentId } = await paidOrder(3000);
    const row = await h.orderRow(order.id);
    sandbox.down = true;
    try {
      // The handler returns normally (the consumer acks): nothing is thrown towards dead-lettering.
      await expect(h.rejectEnrollment(row, 'COURSE_FULL')).resolves.toEqual({ checked: 1, resolved: 0 });
      await h.reconcile([order.id]);
      const ops = (await h.gql(OPERATIONS, {}, admin)).body.data!.paymentOperations;
      expect(ops.pendingCompensations).toBeGreaterThanOrEqual(1);
      const attempt = await h.app.db.providerAttempt.findFirstOrThrow({ where: { orderId: order.id, kind: 'REFUND' } });
      expect(attempt).toMatchObject({ state: 'REQUESTED', tries: 2, requestedBy: 'system:enrollment-rejected' });
      expect(attempt.lastError).toMatch(/outage/);
      expect(await h.orderRow(order.id)).toMatchObject({ status: 'PAID', refundedMinor: 0 });
      expect(await h.outbox(PaymentEvents.refundIssued, order.id)).toEqual([]);
    } finally {
      sandbox.down = false;
    }
    expect(await h.reconcile([order.id])).toEqual({ checked: 1, resolved: 1 });
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 3000 });
    expect(sandbox.refundsOf(providerPaymentId).map((r) => r.amount)).toEqual([3000]);
    const events = await h.outbox(PaymentEvents.refundIssued, order.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.full).toBe(true);
    expect((await h.ledgerOf(order.id)).sums).toEqual({ USD: 0 });
  });

  it("an admin's refund is kept and retried; asking again cannot refund twice", async () => {
    const { order, providerPaymentId } = await paidOrder(2000);
    sandbox.down = true;
    try {
      const res = await h.gql(REFUND, { orderId: order.id, amount: null, reason: 'asked' }, admin);
      expect(res.body.errors![0]!.extensions).toMatchObject({
        code: 'PAYMENT_DECLINED',
        reason: 'PROVIDER_UNAVAILABLE',
        queued: true,
      });
      const twice = await h.gql(REFUND, { orderId: order.id, amount: null, reason: 'asked again' }, admin);
      expect(errorCode(twice)).toBe('CONFLICT');
      expect(errorCode(await h.gql(REFUND, { orderId: order.id, amount: 1, reason: 'one more cent' }, admin))).toBe(
        'BAD_USER_INPUT',
      );
    } finally {
      sandbox.down = false;
    }
    await h.reconcile([order.id]);
    expect(await h.orderRow(order.id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2000 });
    expect(sandbox.refundsOf(providerPaymentId)).toHaveLength(1);
    expect(await h.outbox(PaymentEvents.refundIssued, order.id)).toHaveLength(1);
  });

  it('waits grow exponentially and are capped', () => {
    expect([1, 2, 3, 4, 5, 40].map((tries) => backoffMs(tries, 1000, 5000))).toEqual([
      1000, 2000, 4000, 5000, 5000, 5000,
    ]);
  });
});

describe('operations', () => {
  it('paymentOperations and reconcilePayments are for admins', async () => {
    const learner = await h.user();
    expect(errorCode(await h.gql(OPERATIONS, {}, learner.token))).toBe('FORBIDDEN');
    expect(errorCode(await h.gql(`mutation { reconcilePayments { checked } }`, {}, learner.token))).toBe('FORBIDDEN');
    const { order } = await pendingCheckout(SANDBOX_CARDS.timeoutAfterCharge);
    const res = await h.gql(
      `mutation($ids: [ID!]) { reconcilePayments(orderIds: $ids) { checked resolved operations { pendingOrders } } }`,
      { ids: [order.id] },
      admin,
    );
    expect(res.body.data!.reconcilePayments).toMatchObject({ checked: 1, resolved: 1 });
    expect((await h.orderRow(order.id)).status).toBe('PAID');
    expect(errorCode(await h.gql(`mutation { reconcilePayments(orderIds: ["nope"]) { checked } }`, {}, admin))).toBe(
      'BAD_USER_INPUT',
    );
  });
});
