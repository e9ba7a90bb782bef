/**
 * Usage per client, identity's side: the gateway's reports, published to the test run's NATS as the
 * gateway publishes them, go through the real durable consumer (identity-operation-usage) into
 * identity.operation_usage, and admins read the sums through `operationUsage`. A re-driven report is
 * not counted twice; a hostile report is dead-lettered and writes nothing; only admins may read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { GatewayEvents, gateway } from '@coursegraph/contracts';
import {
  createLogger,
  DEADLETTER_STREAM,
  envelopeHeaders,
  natsConnectOptions,
  newId,
  newTraceparent,
  prismaTransaction,
  redriveConsumerName,
  REDRIVE_STREAM,
  startConsumer,
  type EventConsumer,
} from '@coursegraph/service-kit';
import { errorCode, eventually } from '@coursegraph/test-support';
import type { Tx } from '../src/data/db.js';
import { consumers } from '../src/events/consumers.js';
import { checkUsageReport, latencyQuantile, MAX_REPORT_ROWS } from '../src/domain/operation-usage.js';
import { startIdentity, type IdentityHarness } from './harness.js';

const CONSUMER = 'identity-operation-usage';
const USAGE = `query($filter: OperationUsageFilter, $first: Int) { operationUsage(filter: $filter, first: $first) {
  client clientVersion partnerId operationName documentId requests errors unregistered
  latencyMsAverage latencyMsP50 latencyMsP99 firstSeen lastSeen } }`;

let h: IdentityHarness;
let admin: string;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let consumer: EventConsumer;

type Row = { client: string; operationName: string; requests: number; buckets: number[] } & Partial<{
  clientVersion: string;
  partnerId: string;
  documentId: string;
  errors: number;
  unregistered: number;
  latencyMsTotal: number;
}>;

/** A report as the gateway builds it (gateway/src/usage/reporter.ts). */
function report(periodStart: Date, rows: Row[]) {
  return create(gateway.UsageReportedSchema, {
    reporter: 'test:1',
    periodStart: periodStart.toISOString(),
    periodEnd: new Date(Math.max(periodStart.getTime(), Date.now())).toISOString(),
    counts: rows.map((r) => ({
      client: r.client,
      clientVersion: r.clientVersion ?? '1.0',
      partnerId: r.partnerId ?? '',
      operationName: r.operationName,
      documentId: r.documentId ?? '',
      requests: BigInt(r.requests),
      errors: BigInt(r.errors ?? 0),
      unregistered: BigInt(r.unregistered ?? 0),
      latencyMsTotal: BigInt(r.latencyMsTotal ?? 0),
      latencyBuckets: r.buckets.map(BigInt),
    })),
  });
}

/** Publishes it as the gateway does; returns the event id and the headers (for a re-drive). */
async function publish(payload: gateway.UsageReported) {
  const id = newId();
  const headers = envelopeHeaders({
    id,
    subject: GatewayEvents.usageReported.subject,
    source: 'gateway',
    time: new Date(),
    traceparent: newTraceparent(),
  });
  const data = toBinary(gateway.UsageReportedSchema, payload);
  await js.publish(GatewayEvents.usageReported.subject, data, { msgID: id, headers });
  return { id, headers, data };
}

const usage = async (filter: Record<string, unknown>, token = admin, first?: number) =>
  h.gql(USAGE, { filter, first }, token);

/** Eleven buckets (USAGE_LATENCY_BUCKETS_MS and beyond) with `counts` at the given indexes. */
const buckets = (counts: Record<number, number>) => Array.from({ length: 11 }, (_, i) => counts[i] ?? 0);

beforeAll(async () => {
  h = await startIdentity();
  admin = (await h.admin()).accessToken;
  nc = await connect(natsConnectOptions(process.env.NATS_URL!));
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  // The real consumer, dead-lettering at the first failure (production retries five times first).
  consumer = await startConsumer({
    context: 'identity',
    name: CONSUMER,
    stream: consumers[CONSUMER].stream,
    handlers: [...consumers[CONSUMER].handlers],
    natsUrl: process.env.NATS_URL!,
    transaction: prismaTransaction<Tx>(h.app.db),
    logger: createLogger('identity-usage-test', 'silent'),
    maxDeliver: 1,
  });
});

afterAll(async () => {
  await consumer?.stop();
  await nc?.close();
  await h?.close();
});

describe('operationUsage', () => {
  const client = `web-${randomBytes(4).toString('hex')}`;
  const partnerId = randomUUID();
  const now = new Date();
  const threeDaysAgo = new Date(now.getTime() - 3 * 24 * 3600_000);
  let first: Awaited<ReturnType<typeof publish>>;

  it('sums the reports per client and operation over the hours asked, busiest first', async () => {
    first = await publish(
      report(now, [
        {
          client,
          operationName: 'CatalogPage',
          requests: 3,
          errors: 1,
          latencyMsTotal: 60,
          buckets: buckets({ 0: 1, 1: 1, 3: 1 }),
        },
        {
          client,
          partnerId,
          documentId: 'd'.repeat(64),
          operationName: 'PartnerCourses',
          requests: 1,
          unregistered: 0,
          latencyMsTotal: 7000,
          buckets: buckets({ 10: 1 }),
        },
      ]),
    );
    await publish(
      report(now, [
        { client, operationName: 'CatalogPage', requests: 2, latencyMsTotal: 200, buckets: buckets({ 4: 2 }) },
      ]),
    );
    await publish(
      report(threeDaysAgo, [
        { client, operationName: 'CatalogPage', requests: 10, unregistered: 4, buckets: buckets({ 0: 10 }) },
      ]),
    );
    const hour = new Date(Math.floor(now.getTime() / 3600_000) * 3600_000).toISOString();
    const oldHour = new Date(Math.floor(threeDaysAgo.getTime() / 3600_000) * 3600_000).toISOString();

    // The last 24 hours by default: the old report is left out.
    const recent = await eventually('both recent reports counted', async () => {
      const rows = (await usage({ client })).body.data?.operationUsage;
      return rows?.[0]?.requests === 5 && rows.length === 2 && rows;
    });
    expect(recent).toEqual([
      {
        client,
        clientVersion: '1.0',
        partnerId: null,
        operationName: 'CatalogPage',
        documentId: null,
        requests: 5,
        errors: 1,
        unregistered: 0,
        latencyMsAverage: 52,
        // Buckets summed: 1 (≤5), 1 (≤10), 1 (≤50), 2 (≤100): the 3rd of 5 is within 50 ms, the 5th within 100.
        latencyMsP50: 50,
        latencyMsP99: 100,
        firstSeen: hour,
        lastSeen: hour,
      },
      {
        client,
        clientVersion: '1.0',
        partnerId,
        operationName: 'PartnerCourses',
        documentId: 'd'.repeat(64),
        requests: 1,
        errors: 0,
        unregistered: 0,
        latencyMsAverage: 7000,
        latencyMsP50: null,
        latencyMsP99: null,
        firstSeen: hour,
        lastSeen: hour,
      },
    ]);

    // From four days ago: the old hour too; filtered by operation and by partner.
    const since = new Date(now.getTime() - 4 * 24 * 3600_000).toISOString();
    const all = await eventually('the old report counted', async () => {
      const rows = (await usage({ client, since, operationName: 'CatalogPage' })).body.data?.operationUsage;
      return rows?.[0]?.requests === 15 && rows;
    });
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      requests: 15,
      unregistered: 4,
      firstSeen: oldHour,
      lastSeen: hour,
      latencyMsP50: 5,
    });
    const partner = (await usage({ partnerId, since })).body.data?.operationUsage;
    expect(partner.map((r: any) => [r.operationName, r.requests])).toEqual([['PartnerCourses', 1]]);
    expect((await usage({ client }, admin, 1)).body.data?.operationUsage).toHaveLength(1);
  });

  it('counts a re-delivered report once', async () => {
    // Sent back to this very consumer, as an operator's re-drive of a dead letter is (same event id).
    const h2 = natsHeaders();
    for (const [key, values] of first.headers) for (const v of values) h2.append(key, v);
    h2.set('x-subject', GatewayEvents.usageReported.subject);
    h2.set('x-event-id', first.id);
    h2.set('Nats-Msg-Id', `rd:${first.id}`);
    const subject = `redrive.identity.${CONSUMER}`;
    await js.publish(subject, first.data, { headers: h2 });
    // The work queue is empty once the consumer has handled (and acked) it.
    await eventually('the re-driven report handled', async () => {
      const info = await jsm.streams.info(REDRIVE_STREAM, { subjects_filter: subject });
      const waiting = info.state.subjects?.[subject] ?? 0;
      const pending = (await jsm.consumers.info(REDRIVE_STREAM, redriveConsumerName('identity', CONSUMER)))
        .num_ack_pending;
      return waiting === 0 && pending === 0;
    });
    const rows = (await usage({ client })).body.data?.operationUsage;
    expect(rows.map((r: any) => [r.operationName, r.requests, r.errors])).toEqual([
      ['CatalogPage', 5, 1],
      ['PartnerCourses', 1, 0],
    ]);
  });

  it('dead-letters a hostile report and writes nothing of it', async () => {
    const hostile = `bot-${randomBytes(4).toString('hex')}`;
    // A good row, then one claiming more errors than requests: the whole report is refused.
    const { id } = await publish(
      report(now, [
        { client: hostile, operationName: 'Fine', requests: 1, buckets: buckets({ 0: 1 }) },
        { client: hostile, operationName: 'Bad', requests: 1, errors: 9, buckets: buckets({ 0: 1 }) },
      ]),
    );
    const deadLetter = await eventually('the hostile report dead-lettered', async () => {
      // Among the latest dead letters: this consumer's, of this very event.
      const { last_seq, first_seq } = (await jsm.streams.info(DEADLETTER_STREAM)).state;
      for (let seq = last_seq; seq >= Math.max(first_seq, last_seq - 50); seq--) {
        const m = await jsm.streams.getMessage(DEADLETTER_STREAM, { seq }).catch(() => null);
        if (m?.subject === `deadletter.identity.${CONSUMER}` && m.header.get('x-event-id') === id) return m;
      }
      return null;
    });
    expect(deadLetter.header.get('x-error')).toBe('usage report from "test:1": row 1: more errors than requests');
    expect((await usage({ client: hostile })).body.data?.operationUsage).toEqual([]);
  });

  it('is for admins only, with a bounded page', async () => {
    const learner = await h.signUp('usage-learner');
    expect(errorCode(await usage({}, learner.accessToken))).toBe('FORBIDDEN');
    expect(errorCode(await h.gql(USAGE, {}))).toBe('UNAUTHENTICATED');
    const tooMany = await usage({}, admin, 501);
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.body.errors?.[0]?.message).toBe('"first" must be 1 to 500.');
    expect(errorCode(await usage({ client: 'x'.repeat(129) }))).toBe('BAD_USER_INPUT');
  });
});

describe('the report checks', () => {
  const ok = { client: 'web', operationName: 'Q', requests: 2, buckets: buckets({ 0: 2 }) };
  const problem = (payload: gateway.UsageReported) => {
    try {
      checkUsageReport(payload);
      return null;
    } catch (err) {
      return (err as Error).message.replace(/^usage report from "test:1": /, '');
    }
  };

  it('accepts a well-formed report and names what is wrong with a hostile one', () => {
    const now = new Date();
    expect(problem(report(now, [ok]))).toBeNull();
    expect(problem(report(now, [{ ...ok, requests: 2 ** 62, buckets: buckets({ 0: 2 ** 62 }) }]))).toBe(
      'row 0: requests must be 1 to 1000000000',
    );
    expect(problem(report(now, [{ ...ok, requests: 0, buckets: buckets({}) }]))).toBe(
      'row 0: requests must be 1 to 1000000000',
    );
    expect(problem(report(now, [{ ...ok, unregistered: 3 }]))).toBe('row 0: more unregistered than requests');
    expect(problem(report(now, [{ ...ok, client: 'x'.repeat(65) }]))).toBe(
      'row 0: client is longer than 64 characters',
    );
    expect(problem(report(now, [{ ...ok, operationName: 'Q'.repeat(129) }]))).toBe(
      'row 0: operation_name is longer than 128 characters',
    );
    expect(problem(report(now, [{ ...ok, buckets: [2] }]))).toBe('row 0: 1 latency buckets, expected 11');
    expect(problem(report(now, [{ ...ok, buckets: buckets({ 0: 1 }) }]))).toBe(
      'row 0: latency buckets do not add up to requests',
    );
    expect(problem(report(now, [{ ...ok, latencyMsTotal: 2 * 3_600_001 }]))).toBe(
      'row 0: latency_ms_total beyond an hour per request',
    );
    expect(problem(report(now, [ok, ok]))).toBe('row 1: the same client and operation twice');
    expect(
      problem(
        report(
          now,
          Array.from({ length: MAX_REPORT_ROWS + 1 }, (_, i) => ({ ...ok, client: `c${i}` })),
        ),
      ),
    ).toBe(`${MAX_REPORT_ROWS + 1} rows, at most ${MAX_REPORT_ROWS}`);
    expect(problem(report(new Date(Date.now() + 3600_000), [ok]))).toBe('period_end is in the future');
    expect(
      problem(create(gateway.UsageReportedSchema, { reporter: 'test:1', periodStart: 'soon', periodEnd: '' })),
    ).toBe('period_start and period_end must be RFC 3339 times');
  });

  it('reads percentiles as the upper bound of the bucket holding them', () => {
    expect(latencyQuantile(buckets({ 2: 99, 9: 1 }), 0.5)).toBe(25);
    expect(latencyQuantile(buckets({ 2: 99, 9: 1 }), 0.99)).toBe(25);
    expect(latencyQuantile(buckets({ 2: 98, 9: 2 }), 0.99)).toBe(5000);
    expect(latencyQuantile(buckets({ 10: 1 }), 0.5)).toBeNull();
    expect(latencyQuantile(buckets({}), 0.5)).toBeNull();
  });
});
