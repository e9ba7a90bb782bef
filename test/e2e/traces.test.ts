/**
 * One checkout's trace, end to end (docs/observability.md): every process exports its spans over
 * OTLP/HTTP (JSON) to a receiver run by this test, and the spans of the checkout form one tree:
 *
 *     client → gateway POST /graphql → … subgraph payment → payment POST /graphql → SQL, outbox write
 *       → payment's relay: publish → enrollment: consumer → SQL, outbox write
 *         → enrollment's relay: publish → notification: consumer → SQL
 *
 * The receiver (test-support's otlp-receiver.ts) is a plain HTTP server that decodes what the SDK's
 * exporter sends, as a trace backend would; nothing in the services is stubbed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTraceparent } from '@coursegraph/service-kit';
import {
  CHECKOUT,
  descendsFrom,
  type E2E,
  eventually,
  type OtlpReceiver,
  type Person,
  person,
  postGraphQL,
  publishCourse,
  type PublishedCourse,
  type ReceivedSpan,
  SANDBOX_CARDS,
  SPAN_KIND as KIND,
  startE2E,
  startOtlpReceiver,
  VIEWER_ENROLLMENT,
} from '@coursegraph/test-support';

let receiver: OtlpReceiver;
let e2e: E2E;
let learner: Person;
let paid: PublishedCourse;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  e2e = await startE2E('traces', {
    env: { TRACING: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200' },
  });
  const instructor = await person(e2e, 'INSTRUCTOR');
  learner = await person(e2e);
  paid = await publishCourse(e2e.gql, instructor, { priceMinor: 2900, lessons: 1 });
  // Eleven processes with tracing on start in about two minutes on a busy two-core machine.
}, 300_000);

afterAll(async () => {
  await e2e?.platform.stop();
  await receiver?.close();
});

describe('traces', () => {
  it("follow a checkout from the gateway through payment's SQL and outbox to the saga's consumers", async () => {
    // The client starts the trace: each attempt its own (payment learns the course's price from an event).
    const idempotencyKey = crypto.randomUUID();
    const { traceparent } = await eventually('the course to be purchasable', async () => {
      const attempt = newTraceparent();
      const res = await postGraphQL(
        fetch,
        e2e.endpoint,
        CHECKOUT,
        { i: { courseId: paid.courseId, idempotencyKey, paymentMethod: SANDBOX_CARDS.success } },
        learner.token,
        { traceparent: attempt },
      );
      return res.body.errors?.[0]?.extensions?.code === 'NOT_FOUND' ? undefined : { traceparent: attempt, res };
    });
    const traceId = traceparent.split('-')[1]!;
    const clientSpanId = traceparent.split('-')[2]!;
    await eventually('the paid enrollment', async () => {
      const res = await e2e.gql(VIEWER_ENROLLMENT, { c: paid.courseId }, learner.token);
      return res.body.data?.course?.viewerEnrollment?.status === 'ACTIVE';
    });

    const inTrace = () => receiver.trace(traceId);
    const descends = (span: ReceivedSpan, ancestor: ReceivedSpan) => descendsFrom(inTrace(), span, ancestor);
    // A span missing names what the trace has instead.
    const find = (what: string, match: (s: ReceivedSpan) => boolean) =>
      eventually(what, () => inTrace().find(match), { timeoutMs: 20_000 }).catch((err: Error) => {
        const has = inTrace().map((s) => `${s.service}: ${s.name}`);
        throw new Error(
          `${err.message}; the trace has ${JSON.stringify([...new Set(has)])}; refused exports: ${JSON.stringify(receiver.refused)}`,
        );
      });

    // The gateway continues the client's trace, and plans and fetches under its request span.
    const gatewayRequest = await find(
      'the gateway request span',
      (s) => s.service === 'gateway' && s.kind === KIND.SERVER,
    );
    expect(gatewayRequest.parentSpanId).toBe(clientSpanId);
    expect(gatewayRequest.attributes['graphql.operation.type']).toBe('mutation');
    const paymentCall = await find(
      "the gateway's call to payment",
      (s) => s.service === 'gateway' && s.kind === KIND.CLIENT && s.attributes['coursegraph.subgraph'] === 'payment',
    );
    expect(descends(paymentCall, gatewayRequest)).toBe(true);

    // Payment's server span is the call's child; its SQL and the outbox write are under it.
    const paymentRequest = await find(
      'the payment request span',
      (s) => s.service === 'payment' && s.kind === KIND.SERVER,
    );
    expect(paymentRequest.parentSpanId).toBe(paymentCall.spanId);
    const paymentSql = await find(
      "payment's SQL",
      (s) => s.service === 'payment' && s.attributes['db.system.name'] === 'postgresql' && descends(s, paymentRequest),
    );
    expect(paymentSql.attributes['db.namespace']).toBe('payment');
    const outboxWrite = await find(
      'the payment.succeeded outbox write',
      (s) => s.name === 'payment.payment.succeeded create',
    );
    expect(outboxWrite.service).toBe('payment');
    expect(descends(outboxWrite, paymentRequest)).toBe(true);
    await find(
      'the outbox insert under the write',
      (s) => s.name === 'INSERT outbox_events' && s.parentSpanId === outboxWrite.spanId,
    );

    // The relay publishes it under the write; enrollment consumes it under the publish, with its own SQL.
    const publish = await find('the relay publish', (s) => s.name === 'payment.payment.succeeded send');
    expect(publish).toMatchObject({ service: 'payment', kind: KIND.PRODUCER, parentSpanId: outboxWrite.spanId });
    const enrolment = await find(
      "enrollment's consumer span",
      (s) => s.service === 'enrollment' && s.name === 'payment.payment.succeeded process',
    );
    expect(enrolment).toMatchObject({ kind: KIND.CONSUMER, parentSpanId: publish.spanId });
    expect(enrolment.attributes['coursegraph.event.outcome']).toBe('applied');
    const enrolmentSql = await find(
      "enrollment's SQL",
      (s) => s.service === 'enrollment' && s.attributes['db.system.name'] === 'postgresql' && descends(s, enrolment),
    );
    expect(enrolmentSql.attributes['db.namespace']).toBe('enrollment');

    // The enrolment it writes reaches notification in the same trace.
    const created = await find(
      'the enrollment.created outbox write',
      (s) => s.name === 'enrollment.enrollment.created create',
    );
    expect(descends(created, enrolment)).toBe(true);
    const notified = await find(
      "notification's consumer of the enrolment",
      (s) => s.service === 'notification' && s.name === 'enrollment.enrollment.created process',
    );
    expect(notified.kind).toBe(KIND.CONSUMER);
    expect(descends(notified, created)).toBe(true);
    await find(
      "notification's SQL",
      (s) => s.service === 'notification' && s.attributes['db.system.name'] === 'postgresql' && descends(s, notified),
    );

    // No span carries a value: SQL spans name the statement's kind and table only, never its text.
    const sqlAttributes = ['db.system.name', 'db.namespace', 'db.operation.name', 'db.collection.name', 'error.type'];
    for (const s of inTrace().filter((x) => x.attributes['db.system.name']))
      for (const key of Object.keys(s.attributes)) expect(sqlAttributes).toContain(key);
    expect(JSON.stringify(inTrace())).not.toContain(learner.email);
    expect(JSON.stringify(inTrace())).not.toContain(SANDBOX_CARDS.success);
  });
});
