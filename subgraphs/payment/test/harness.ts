/**
 * Payment served in-process (yoga.fetch, no socket) against the real test database and Redis, with
 * locally signed tokens and the sandbox provider (kept here so tests can count its charges).
 */
import { randomUUID } from 'node:crypto';
import { create, fromBinary } from '@bufbuild/protobuf';
import { course as courseEvents, EnrollmentEvents } from '@coursegraph/contracts';
import {
  createLogger,
  newId,
  readConfig,
  type EventPayload,
  type EventType,
  type ReceivedEvent,
} from '@coursegraph/service-kit';
import { contextDatabaseUrl, postGraphQL, testIssuer, type TestRole } from '@coursegraph/test-support';
import { paymentSettings } from '../src/config.js';
import { createPaymentApp, type PaymentApp } from '../src/app.js';
import { applyCourseArchived, applyCourseSnapshot, compensateRejectedEnrollment } from '../src/events/consumers.js';
import { SandboxProvider, stripeSignatureHeader, type PaymentProvider } from '../src/providers/index.js';

export { SANDBOX_CARDS } from '../src/providers/index.js';

export const ORDER_FIELDS = `id status couponCode failureReason createdAt paidAt
  course { id } buyer { id }
  subtotal { amountMinor currency } discount { amountMinor currency } total { amountMinor currency }
  refundedTotal { amountMinor currency }
  payments { id provider providerPaymentId status failureReason amount { amountMinor currency } }
  refunds { id reason providerRefundId amount { amountMinor currency } }`;

export const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { replayed order { ${ORDER_FIELDS} } } }`;
export const REFUND = `mutation($orderId: ID!, $amount: Int, $reason: String!) {
  refundOrder(orderId: $orderId, amount: $amount, reason: $reason) { refund { id reason amount { amountMinor currency } } order { ${ORDER_FIELDS} } } }`;

/** A key no other test run uses. */
export const newKey = (tag = 'k') => `${tag}-${randomUUID()}`;

/** The webhook signing secret the harness configures. */
export const WEBHOOK_SECRET = 'whsec_test_coursegraph';

export async function startPayment(options: { provider?: PaymentProvider; env?: Record<string, string> } = {}) {
  // Pending charges may be looked up at once and retries are due at once; tests reconcile only their own orders.
  const testDefaults = {
    PAYMENT_RECONCILE_AFTER_MS: '0',
    PAYMENT_RETRY_BASE_MS: '1',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  };
  const config = readConfig(paymentSettings, {
    ...process.env,
    ...testDefaults,
    PAYMENT_DATABASE_URL: contextDatabaseUrl('payment'),
    ...options.env,
  });
  const issuer = await testIssuer();
  // The sandbox by default, kept so tests can count its charges; PAYMENT_PROVIDER in `env` picks another.
  const provider = options.provider ?? (options.env?.PAYMENT_PROVIDER ? undefined : new SandboxProvider());
  const silent = createLogger('payment-test', 'silent');
  const app: PaymentApp = await createPaymentApp(config, silent, { getKey: issuer.getKey, provider });

  const gql = <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string) =>
    postGraphQL<T>((url, init) => app.yoga.fetch(url, init), 'http://payment.test/graphql', query, variables, token);

  const user = (role: TestRole = 'LEARNER') => issuer.token(role);

  /** Publishes a course into payment's price projection through the consumer's own handler. */
  async function publishCourse(
    price: {
      priceMinor?: number;
      currency?: string;
      version?: number;
      courseId?: string;
      title?: string;
      time?: Date;
    } = {},
  ) {
    const courseId = price.courseId ?? newId();
    const version = price.version ?? 1;
    const payload = create(courseEvents.CoursePublishedSchema, {
      course: {
        courseId,
        version,
        title: price.title ?? `Course ${courseId.slice(-6)}`,
        price: { amountMinor: BigInt(price.priceMinor ?? 4900), currency: price.currency ?? 'USD' },
      },
    });
    await app.db.$transaction((tx) =>
      applyCourseSnapshot(tx, receivedEvent('course.course.published', payload, price.time)),
    );
    return courseId;
  }

  async function archiveCourse(courseId: string, at = new Date()) {
    const payload = create(courseEvents.CourseArchivedSchema, { courseId, archivedAt: at.toISOString() });
    await app.db.$transaction((tx) => applyCourseArchived(tx, receivedEvent('course.course.archived', payload, at)));
  }

  async function rejectEnrollment(order: { id: string; userId: string; courseId: string }, reason: string) {
    const payload = create(EnrollmentEvents.rejected.schema, {
      orderId: order.id,
      userId: order.userId,
      courseId: order.courseId,
      reason,
    });
    await app.db.$transaction((tx) =>
      compensateRejectedEnrollment(tx, receivedEvent(EnrollmentEvents.rejected.subject, payload), {
        providerName: app.provider.name,
        logger: silent,
      }),
    );
    // The handler only records the refund; the reconciler sends it (main.ts's worker, kicked at once).
    return reconcile([order.id]);
  }

  /** One reconciliation pass over these orders' attempts only (other test files share the database). */
  const reconcile = (orderIds: string[]) => app.reconciler.runOnce({ orderIds });

  /** Delivers a provider event to POST /webhooks/stripe, signed with the configured secret unless `signature` is given. */
  async function webhook(event: Record<string, unknown>, signature?: string | null) {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const header = signature === undefined ? stripeSignatureHeader(body, WEBHOOK_SECRET) : signature;
    if (header !== null) headers['stripe-signature'] = header;
    const response = await app.webhook(
      new Request('http://payment.test/webhooks/stripe', { method: 'POST', headers, body }),
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Outbox events of `type` about one order, oldest first, decoded. */
  async function outbox<E extends EventType>(type: E, orderId: string): Promise<EventPayload<E>[]> {
    const rows = await app.db.outboxEvent.findMany({ where: { subject: type.subject }, orderBy: { id: 'asc' } });
    const events = rows.map((row) => fromBinary(type.schema, row.payload) as EventPayload<E>);
    return events.filter((event) => (event as unknown as { orderId: string }).orderId === orderId);
  }

  /** Every ledger entry of one order, and its sum per currency. */
  async function ledgerOf(orderId: string) {
    const entries = await app.db.ledgerEntry.findMany({ where: { orderId }, orderBy: { id: 'asc' } });
    const sums: Record<string, number> = {};
    for (const e of entries) sums[e.currency] = (sums[e.currency] ?? 0) + e.amountMinor;
    return {
      entries,
      sums,
      byAccount: (kind: string) =>
        Object.fromEntries(entries.filter((e) => e.kind === kind).map((e) => [e.account, e.amountMinor])),
    };
  }

  const ordersOf = (userId: string) => app.db.order.findMany({ where: { userId } });

  const orderRow = (id: string) => app.db.order.findUniqueOrThrow({ where: { id } });

  return {
    app,
    provider: app.provider,
    config,
    gql,
    user,
    publishCourse,
    archiveCourse,
    rejectEnrollment,
    reconcile,
    webhook,
    outbox,
    ledgerOf,
    ordersOf,
    orderRow,
    close: app.close,
  };
}

export type PaymentHarness = Awaited<ReturnType<typeof startPayment>>;

/** An event as the consumer would hand it to a handler. */
export function receivedEvent<P>(type: string, payload: P, time = new Date()): ReceivedEvent & { payload: P } {
  return {
    id: newId(),
    type,
    source: type.split('.')[0]!,
    time: time.toISOString(),
    traceparent: '',
    streamSequence: 1,
    deliveryCount: 1,
    payload,
  } as never;
}
