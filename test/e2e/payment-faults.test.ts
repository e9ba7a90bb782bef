/**
 * Payment faults end to end, through the gateway: each case asserts both what payment holds (the
 * order, its payments and its ledger entries, read as an admin) and what the learner holds in
 * enrollment (`viewerEnrollment`), which only payment's events reach. Faults come from the sandbox
 * provider's cards (a lost answer after the charge: a timeout, a 409) and from webhooks signed with
 * the wrong secret. subgraphs/payment/test/payment-faults.test.ts covers the same faults inside
 * payment, down to the outbox; this suite follows them into the enrolment.
 *
 * The background reconciler is slowed to once an hour and pending charges are due at once
 * (PAYMENT_RECONCILE_AFTER_MS=0): only the admin's `reconcilePayments` settles them here, so
 * "still pending" is a state the test can look at rather than a race with the worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKOUT,
  checkoutWhenPurchasable,
  contextDatabaseUrl,
  type E2E,
  eventually,
  type Gql,
  person,
  type Person,
  publishCourse,
  SANDBOX_CARDS,
  startE2E,
  VIEWER_ENROLLMENT,
} from '@coursegraph/test-support';
import pg from 'pg';
import { stripeSignatureHeader } from '../../subgraphs/payment/src/providers/stripe-webhook-signature.js';

const PRICE = 4900;
const WEBHOOK_SECRET = `whsec_e2e_${crypto.randomUUID().replace(/-/g, '')}`;

let e2e: E2E;
let gql: Gql;
let admin: Person;
let courseId: string;

beforeAll(async () => {
  e2e = await startE2E('payfaults', {
    env: {
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      PAYMENT_RECONCILE_AFTER_MS: '0',
      PAYMENT_RECONCILE_INTERVAL_MS: '3600000',
    },
  });
  gql = e2e.gql;
  const [instructor, adminPerson] = await Promise.all([person(e2e, 'INSTRUCTOR'), person(e2e, 'ADMIN')]);
  admin = adminPerson;
  courseId = (await publishCourse(gql, instructor, { priceMinor: PRICE })).courseId;
  // Payment and enrollment both know the course once someone has bought it.
  await enrollmentApplied();
});

afterAll(async () => {
  await e2e?.platform.stop();
});

const enrollmentOf = async (learner: Person) =>
  (await gql(VIEWER_ENROLLMENT, { c: courseId }, learner.token)).body.data?.course?.viewerEnrollment ?? null;

const activeEnrollment = (learner: Person) =>
  eventually('the paid enrolment', async () => {
    const e = await enrollmentOf(learner);
    return e?.status === 'ACTIVE' ? e : undefined;
  });

/**
 * Waits until enrollment has applied every payment event written so far: a purchase made now is
 * applied after them (one ordered stream), so once its buyer is enrolled, an absent or unchanged
 * enrolment of anyone else is final, not late.
 */
async function enrollmentApplied(): Promise<void> {
  const sentinel = await person(e2e);
  const res = await checkoutWhenPurchasable(gql, sentinel, courseId, SANDBOX_CARDS.success);
  expect(res.body.data?.checkout.order.status).toBe('PAID');
  await activeEnrollment(sentinel);
}

/** The order, its payments and its ledger entries (per kind, by account) as an admin reads them. */
async function ledgerOf(orderId: string) {
  const res = await gql(
    `query($o: ID!) {
      order(id: $o) { status refundedTotal { amountMinor } payments { status } }
      ledgerEntries(orderId: $o, first: 50) { edges { node { transactionId kind account amount { amountMinor currency } } } }
    }`,
    { o: orderId },
    admin.token,
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const entries = res.body.data!.ledgerEntries.edges.map((e: any) => e.node);
  const byAccount = (kind: string) =>
    Object.fromEntries(
      entries.filter((e: any) => e.kind === kind).map((e: any) => [e.account, e.amount.amountMinor] as const),
    );
  return {
    status: res.body.data!.order.status as string,
    refunded: res.body.data!.order.refundedTotal.amountMinor as number,
    payments: res.body.data!.order.payments.map((p: any) => p.status) as string[],
    transactions: new Set(entries.map((e: any) => e.transactionId)).size,
    charge: byAccount('CHARGE'),
    refund: byAccount('REFUND'),
    balance: entries.reduce((total: number, e: any) => total + e.amount.amountMinor, 0) as number,
  };
}

const PAID_LEDGER = {
  status: 'PAID',
  refunded: 0,
  payments: ['SUCCEEDED'],
  transactions: 1,
  charge: { PROVIDER_CLEARING: PRICE, PLATFORM_REVENUE: -PRICE },
  refund: {},
  balance: 0,
};
const PENDING_LEDGER = {
  status: 'PENDING',
  refunded: 0,
  payments: [],
  transactions: 0,
  charge: {},
  refund: {},
  balance: 0,
};

/** Payment's charge attempts of an order, from its own table: one per order means one charge sent. */
async function chargeAttempts(orderId: string): Promise<{ state: string }[]> {
  const db = new pg.Client({ connectionString: contextDatabaseUrl('payment', e2e.database) });
  await db.connect();
  try {
    return (await db.query(`select state from provider_attempts where order_id = $1 and kind = 'CHARGE'`, [orderId]))
      .rows;
  } finally {
    await db.end();
  }
}

const checkout = (learner: Person, paymentMethod: string, idempotencyKey: string = crypto.randomUUID()) =>
  gql(CHECKOUT, { i: { courseId, idempotencyKey, paymentMethod } }, learner.token);

describe('payment faults, in the ledger and in the enrolment', () => {
  it('two concurrent checkouts with one idempotency key: one order, one charge, one active enrolment', async () => {
    const learner = await person(e2e);
    const key = crypto.randomUUID();
    const results = await Promise.all([1, 2].map(() => checkout(learner, SANDBOX_CARDS.success, key)));
    for (const res of results) expect(res.body.errors).toBeUndefined();
    const [a, b] = results.map((r) => r.body.data!.checkout);
    expect(b.order.id).toBe(a.order.id);
    expect([a.order.status, b.order.status]).toEqual(['PAID', 'PAID']);
    // One request made the order, the other was answered with it.
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);

    expect(await ledgerOf(a.order.id)).toEqual(PAID_LEDGER);
    expect(await chargeAttempts(a.order.id)).toEqual([{ state: 'SUCCEEDED' }]);
    const orders = await gql(`{ myOrders { totalCount } }`, {}, learner.token);
    expect(orders.body.data!.myOrders.totalCount).toBe(1);

    expect(await activeEnrollment(learner)).toMatchObject({ status: 'ACTIVE', mode: 'PAID' });
    const enrolments = await gql(`{ myEnrollments { totalCount } }`, {}, learner.token);
    expect(enrolments.body.data!.myEnrollments.totalCount).toBe(1);
  });

  it.each([
    ['a timeout', SANDBOX_CARDS.timeoutAfterCharge],
    ['a 409 "in progress"', SANDBOX_CARDS.conflictAfterCharge],
  ])(
    'the answer lost to %s after the charge: PENDING with no access, until a look-up finds the charge: PAID and enrolled',
    async (_fault, card) => {
      const learner = await person(e2e);
      const res = await checkout(learner, card);
      expect(res.body.errors).toBeUndefined();
      const order = res.body.data!.checkout.order;
      // Not guessed either way: not FAILED (the money was taken), not PAID (nobody knows yet).
      expect(order.status).toBe('PENDING');
      expect(await ledgerOf(order.id)).toEqual(PENDING_LEDGER);
      await enrollmentApplied();
      expect(await enrollmentOf(learner)).toBeNull();

      const reconciled = await gql(
        `mutation($ids: [ID!]) { reconcilePayments(orderIds: $ids) { checked resolved } }`,
        { ids: [order.id] },
        admin.token,
      );
      expect(reconciled.body.data!.reconcilePayments).toEqual({ checked: 1, resolved: 1 });
      expect(await ledgerOf(order.id)).toEqual(PAID_LEDGER);
      expect(await activeEnrollment(learner)).toMatchObject({ status: 'ACTIVE', mode: 'PAID' });

      // Looking again finds nothing left to do and charges nothing more.
      const again = await gql(
        `mutation($ids: [ID!]) { reconcilePayments(orderIds: $ids) { checked resolved } }`,
        { ids: [order.id] },
        admin.token,
      );
      expect(again.body.data!.reconcilePayments).toEqual({ checked: 0, resolved: 0 });
      expect(await ledgerOf(order.id)).toEqual(PAID_LEDGER);
    },
  );

  it('webhooks with a bad signature: 400, and neither the ledger nor any enrolment changes', async () => {
    const webhook = async (event: Record<string, unknown>, sign: ((body: string) => string) | null) => {
      const body = JSON.stringify(event);
      // Stripe calls payment directly (the gateway serves only GraphQL).
      const res = await fetch(`http://127.0.0.1:${e2e.ports.payment}/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(sign ? { 'stripe-signature': sign(body) } : {}) },
        body,
      });
      return { status: res.status, body: await res.json() };
    };
    const stripeEvent = (type: string, object: Record<string, unknown>) => ({
      id: `evt_${crypto.randomUUID().replace(/-/g, '')}`,
      object: 'event',
      type,
      data: { object },
    });
    const signedWith = (secret: string) => (body: string) => stripeSignatureHeader(body, secret);
    const stale = (body: string) => stripeSignatureHeader(body, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3600);

    // A buyer with access, whom a forged dispute would revoke ...
    const buyer = await person(e2e);
    const paid = (await checkout(buyer, SANDBOX_CARDS.success)).body.data!.checkout.order;
    await activeEnrollment(buyer);
    const providerPaymentId = (
      await gql(`query($o: ID!) { order(id: $o) { payments { providerPaymentId } } }`, { o: paid.id }, admin.token)
    ).body.data!.order.payments[0].providerPaymentId;
    const dispute = stripeEvent('charge.dispute.created', {
      id: `dp_${crypto.randomUUID().replace(/-/g, '')}`,
      object: 'dispute',
      amount: PRICE,
      currency: 'usd',
      payment_intent: providerPaymentId,
      reason: 'fraudulent',
      status: 'needs_response',
    });
    // ... and a pending order, which a forged success would grant.
    const waiting = await person(e2e);
    const pending = (await checkout(waiting, SANDBOX_CARDS.timeoutAfterCharge)).body.data!.checkout.order;
    const success = stripeEvent('payment_intent.succeeded', {
      id: 'pi_forged',
      status: 'succeeded',
      metadata: { order_id: pending.id },
    });

    const refused = { status: 400, body: { error: 'The Stripe-Signature header does not verify.' } };
    expect(await webhook(dispute, signedWith('whsec_not_ours'))).toMatchObject(refused);
    expect(await webhook(dispute, stale)).toMatchObject(refused);
    expect(await webhook(success, null)).toMatchObject(refused);
    expect(await webhook(success, signedWith('whsec_not_ours'))).toMatchObject(refused);

    await enrollmentApplied();
    expect(await ledgerOf(paid.id)).toEqual(PAID_LEDGER);
    expect(await ledgerOf(pending.id)).toEqual(PENDING_LEDGER);
    expect(await enrollmentOf(buyer)).toMatchObject({ status: 'ACTIVE', mode: 'PAID' });
    expect(await enrollmentOf(waiting)).toBeNull();

    // The same dispute signed with the endpoint's secret is applied: the refusals above were the signature's.
    expect(await webhook(dispute, signedWith(WEBHOOK_SECRET))).toEqual({
      status: 200,
      body: { received: true, result: 'applied' },
    });
    expect(await ledgerOf(paid.id)).toMatchObject({
      status: 'REFUNDED',
      refunded: PRICE,
      transactions: 2,
      refund: { REFUNDS: PRICE, PROVIDER_CLEARING: -PRICE },
      balance: 0,
    });
    const revoked = await eventually('the dispute to revoke access', async () => {
      const e = await enrollmentOf(buyer);
      return e?.status === 'REVOKED' ? e : undefined;
    });
    expect(revoked.revokeReason).toBe('REFUNDED');
  });
});
