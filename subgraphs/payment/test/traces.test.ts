/**
 * The events a request causes (a checkout's payment succeeded or failed, a refund) carry the
 * caller's traceparent; a malformed traceparent is ignored: the checkout goes through and its event
 * starts a trace of its own (it used to be passed on raw, and the outbox refused it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { PaymentEvents } from '@coursegraph/contracts';
import { isTraceparent, newTraceparent } from '@coursegraph/service-kit';
import { CHECKOUT, newKey, REFUND, SANDBOX_CARDS, startPayment, type PaymentHarness } from './harness.js';

let h: PaymentHarness;
let admin: string;
beforeAll(async () => {
  h = await startPayment();
  admin = (await h.user('ADMIN')).token;
});
afterAll(async () => {
  await h.close();
});

/** POSTs an operation with a traceparent header. */
async function post(query: string, variables: Record<string, unknown>, traceparent: string, token: string) {
  const res = await h.app.yoga.fetch('http://payment.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent, authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { extensions: Record<string, unknown> }[] };
}

/** Like post, but fails the test on any error and returns data. */
async function traced(query: string, variables: Record<string, unknown>, traceparent: string, token: string) {
  const body = await post(query, variables, traceparent, token);
  if (body.errors) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The subjects of the outbox events written on this trace. */
async function subjectsOn(traceparent: string) {
  const rows = await h.app.db.outboxEvent.findMany({ where: { traceparent }, select: { subject: true } });
  return rows.map((r) => r.subject);
}

async function checkout(traceparent: string) {
  const courseId = await h.publishCourse({ priceMinor: 2500 });
  const learner = await h.user();
  const input = { courseId, idempotencyKey: newKey(), paymentMethod: SANDBOX_CARDS.success };
  const { checkout } = await traced(CHECKOUT, { input }, traceparent, learner.token);
  return checkout.order as { id: string; status: string };
}

describe('traces', () => {
  it("carries the caller's traceparent into the events of a checkout and of a refund", async () => {
    const paidTrace = newTraceparent();
    const order = await checkout(paidTrace);
    expect(order.status).toBe('PAID');
    expect(await subjectsOn(paidTrace)).toEqual([PaymentEvents.succeeded.subject]);

    const refundTrace = newTraceparent();
    await traced(REFUND, { orderId: order.id, amount: null, reason: 'traced refund' }, refundTrace, admin);
    expect(await subjectsOn(refundTrace)).toEqual([PaymentEvents.refundIssued.subject]);

    const declinedTrace = newTraceparent();
    const input = {
      courseId: await h.publishCourse({ priceMinor: 2500 }),
      idempotencyKey: newKey(),
      paymentMethod: SANDBOX_CARDS.declined,
    };
    const declined = await post(CHECKOUT, { input }, declinedTrace, (await h.user()).token);
    expect(declined.errors?.[0]?.extensions.code).toBe('PAYMENT_DECLINED');
    expect(await subjectsOn(declinedTrace)).toEqual([PaymentEvents.failed.subject]);
  });

  it('ignores a malformed traceparent: the checkout is paid and its event starts a trace of its own', async () => {
    const malformed = '00-00000000000000000000000000000000-00f067aa0ba902b7-01';
    const order = await checkout(malformed);
    expect(order.status).toBe('PAID');
    const rows = await h.app.db.outboxEvent.findMany({
      where: { subject: PaymentEvents.succeeded.subject },
      orderBy: { id: 'desc' },
      take: 500,
    });
    const succeeded = rows.filter((r) => fromBinary(PaymentEvents.succeeded.schema, r.payload).orderId === order.id);
    expect(succeeded).toHaveLength(1);
    expect(isTraceparent(succeeded[0]!.traceparent)).toBe(true);
    // Neither the event nor the provider attempt (which the reconciler would retry with) kept it.
    expect(await h.app.db.outboxEvent.count({ where: { traceparent: malformed } })).toBe(0);
    expect(await h.app.db.providerAttempt.count({ where: { orderId: order.id, traceparent: malformed } })).toBe(0);
  });
});
