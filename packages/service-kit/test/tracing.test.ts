/**
 * The kit's spans in one process, exported over OTLP/HTTP to a real receiver: a request's server
 * span continues the caller's traceparent, the event it writes carries its outbox write span, the
 * relay's publish and a consumer's handling follow through the event's traceparent (real PostgreSQL
 * and NATS JetStream). test/e2e/traces.test.ts follows the same across every service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema } from 'graphql-yoga';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  descendsFrom,
  eventually,
  SPAN_KIND,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@coursegraph/test-support';
import { createLogger } from '../src/logger.js';
import { enqueueEvent } from '../src/events/outbox.js';
import { startOutboxRelay, type OutboxRelay } from '../src/events/relay.js';
import { on, startConsumer, type EventConsumer } from '../src/events/consumer.js';
import { natsConnectOptions } from '../src/events/nats-credentials.js';
import { newTraceparent } from '../src/events/traceparent.js';
import { createScratchContext, pingEvent, type ScratchContext } from '../src/events/testing.js';
import type { EventType } from '../src/events/types.js';
import { createServiceYoga } from '../src/yoga/service-yoga.js';
import { startTracing, stopTracing, tracingEnabled, tracingReady } from '../src/tracing/sdk.js';
import { describeStatement } from '../src/tracing/sql.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const logger = createLogger('tracing-test', 'silent');

let receiver: OtlpReceiver;
let scratch: ScratchContext;
let relay: OutboxRelay;
let consumer: EventConsumer;
let type: EventType;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  startTracing('tracing-test', logger, {
    tracing: true,
    otlpEndpoint: receiver.url,
    tracingSampleRatio: 1,
    tracingExportDelayMs: 100,
  });
  await tracingReady();
  scratch = await createScratchContext('trtest');
  type = pingEvent(scratch.context);
  relay = await startOutboxRelay({
    context: scratch.context,
    databaseUrl: scratch.databaseUrl,
    natsUrl: NATS_URL,
    logger,
    pollIntervalMs: 200,
  });
  consumer = await startConsumer({
    context: scratch.context,
    name: 'traced',
    stream: scratch.context.toUpperCase(),
    natsUrl: NATS_URL,
    logger,
    transaction: scratch.transaction,
    handlers: [on(type, async () => {})],
  });
});

afterAll(async () => {
  await consumer?.stop();
  await relay?.stop();
  const nc = await connect(natsConnectOptions(NATS_URL));
  await (await jetstreamManager(nc)).streams.delete(scratch.context.toUpperCase()).catch(() => undefined);
  await nc.close();
  await scratch?.drop();
  await stopTracing();
  await receiver?.close();
});

describe('tracing', () => {
  it("joins a request, the event it writes, the relay's publish and a consumer's handling in one trace", async () => {
    const yoga = createServiceYoga<Record<string, unknown>>({
      schema: createSchema({
        typeDefs: 'type Query { ok: Boolean } type Mutation { ping(key: String!): ID! }',
        resolvers: {
          Mutation: {
            ping: (_: unknown, { key }: { key: string }) =>
              scratch.transaction((tx) => enqueueEvent(tx, scratch.context, type, { key })),
          },
        },
      }),
      logger,
      context: async () => ({}),
    });
    const caller = newTraceparent();
    const [, traceId, callerSpanId] = caller.split('-');
    const res = await yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: caller },
      body: JSON.stringify({ query: 'mutation Ping { ping(key: "traced") }' }),
    });
    expect((await res.json()).data.ping).toBeTruthy();

    const find = (what: string, match: (s: ReceivedSpan) => boolean) =>
      eventually(what, () => receiver.trace(traceId!).find(match), { timeoutMs: 15_000 });
    const server = await find('the server span', (s) => s.kind === SPAN_KIND.SERVER);
    expect(server).toMatchObject({ service: 'tracing-test', name: 'POST /graphql', parentSpanId: callerSpanId });
    expect(server.attributes).toMatchObject({
      'graphql.operation.type': 'mutation',
      'graphql.operation.name': 'Ping',
      'http.response.status_code': 200,
    });
    const subject = type.subject;
    const write = await find('the outbox write', (s) => s.name === `${subject} create`);
    expect(write).toMatchObject({ kind: SPAN_KIND.PRODUCER, parentSpanId: server.spanId });
    const publish = await find('the publish', (s) => s.name === `${subject} send`);
    expect(publish).toMatchObject({ kind: SPAN_KIND.PRODUCER, parentSpanId: write.spanId });
    const handled = await find('the consumer span', (s) => s.name === `${subject} process`);
    expect(handled).toMatchObject({ kind: SPAN_KIND.CONSUMER, parentSpanId: publish.spanId });
    expect(handled.attributes).toMatchObject({
      'messaging.consumer.group.name': 'traced',
      'coursegraph.event.outcome': 'applied',
    });
    expect(descendsFrom(receiver.trace(traceId!), handled, server)).toBe(true);
  });

  it('starts a trace of its own for a request without a traceparent, and for one with a malformed one', async () => {
    expect(tracingEnabled()).toBe(true);
    const yoga = createServiceYoga<Record<string, unknown>>({
      schema: createSchema({ typeDefs: 'type Query { ok: Boolean }', resolvers: { Query: { ok: () => true } } }),
      logger,
      context: async () => ({}),
    });
    const ask = (headers: Record<string, string>) =>
      yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ ok }', operationName: null }),
      });
    const before = receiver.spans.length;
    await ask({ 'x-request-id': 'untraced' });
    await ask({ traceparent: '00-00000000000000000000000000000000-0000000000000000-01' });
    const roots = await eventually('two root server spans', () => {
      const found = receiver.spans.slice(before).filter((s) => s.kind === SPAN_KIND.SERVER);
      return found.length >= 2 ? found : undefined;
    });
    for (const root of roots) expect(root.parentSpanId).toBe('');
    expect(roots[0]!.traceId).not.toBe(roots[1]!.traceId);
  });

  it('names a SQL statement by its kind and first table, never by its text or values', () => {
    expect(describeStatement('SELECT "payment"."orders"."id" FROM "payment"."orders" WHERE "id" = $1')).toEqual({
      operation: 'SELECT',
      table: 'orders',
    });
    expect(describeStatement(`insert into "evtest".outbox_events (id) values ($1::uuid)`)).toEqual({
      operation: 'INSERT',
      table: 'outbox_events',
    });
    expect(describeStatement(`update users set email = 'someone@example.com' where id = 7`)).toEqual({
      operation: 'UPDATE',
      table: 'users',
    });
    expect(describeStatement(`select pg_notify($1, '')`)).toEqual({ operation: 'SELECT', table: undefined });
    // A literal never becomes the table: only an identifier after FROM/INTO/UPDATE/JOIN does.
    expect(describeStatement(`select 'from secret' as x`)).toEqual({ operation: 'SELECT', table: undefined });
  });
});
