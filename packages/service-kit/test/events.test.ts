// The event backbone end to end against the real PostgreSQL (a scratch schema in the test database)
// and the real NATS JetStream (a stream of its own, deleted afterwards).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createLogger } from '../src/logger.js';
import { isUuid } from '../src/ids.js';
import { enqueueEvent } from '../src/events/outbox.js';
import { startOutboxRelay, type OutboxRelay } from '../src/events/relay.js';
import { on, startConsumer, type EventConsumer } from '../src/events/consumer.js';
import { replayConsumer } from '../src/events/replay.js';
import { envelopeHeaders } from '../src/events/envelope.js';
import { isTraceparent, newTraceparent } from '../src/events/traceparent.js';
import { DEADLETTER_STREAM } from '../src/events/nats.js';
import { natsConnectOptions } from '../src/events/nats-credentials.js';
import type { PgExecutor } from '../src/events/pg.js';
import type { EventType, ReceivedEvent } from '../src/events/types.js';
import { createScratchContext, pingEvent, type Ping, type ScratchContext } from '../src/events/testing.js';
import { eventually } from '@coursegraph/test-support';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
// Failures below are provoked on purpose; EVENTS_TEST_LOG=warn shows the backbone's logs.
const logger = createLogger('events-test', process.env.EVENTS_TEST_LOG ?? 'silent');

let scratch: ScratchContext;
let ctx: string;
let stream: string;
let nc: NatsConnection;
let jsm: JetStreamManager;
let relay: OutboxRelay;
const consumers: EventConsumer[] = [];

beforeAll(async () => {
  scratch = await createScratchContext(
    'evtest',
    'create table $schema.projection (consumer text not null, event_id uuid not null, key text not null, primary key (consumer, event_id));',
  );
  ctx = scratch.context;
  stream = ctx.toUpperCase();
  nc = await connect(natsConnectOptions(NATS_URL));
  jsm = await jetstreamManager(nc);
  relay = await startOutboxRelay({
    context: ctx,
    databaseUrl: scratch.databaseUrl,
    natsUrl: NATS_URL,
    logger,
    pollIntervalMs: 200,
  });
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await relay?.stop();
  await jsm?.streams.delete(stream).catch(() => undefined);
  await jsm?.streams.purge(DEADLETTER_STREAM, { filter: `deadletter.${ctx}.>` }).catch(() => undefined);
  await nc?.close();
  await scratch?.drop();
});

const enqueue = (type: EventType, payload: Partial<Ping>, traceparent?: string) =>
  scratch.transaction((tx) => enqueueEvent(tx, ctx, type, payload, { traceparent }));

/** A consumer whose handler records each call and writes one projection row per event. */
async function consume(
  name: string,
  types: EventType[],
  opts: { fail?: (e: ReceivedEvent, calls: number) => boolean; maxDeliver?: number } = {},
) {
  const calls = new Map<string, number>();
  const events: ReceivedEvent[] = [];
  const handle = async (tx: PgExecutor, event: ReceivedEvent) => {
    const n = (calls.get(event.id) ?? 0) + 1;
    calls.set(event.id, n);
    await tx.$executeRawUnsafe(
      `insert into "${ctx}".projection (consumer, event_id, key) values ($1, $2, $3)`,
      name,
      event.id,
      (event.payload as unknown as Ping).key,
    );
    if (opts.fail?.(event, n)) throw new Error(`refused ${(event.payload as unknown as Ping).key} (call ${n})`);
    events.push(event);
  };
  const consumer = await startConsumer({
    context: ctx,
    name,
    stream,
    natsUrl: NATS_URL,
    logger,
    transaction: scratch.transaction,
    handlers: types.map((t) => on(t, handle)),
    maxDeliver: opts.maxDeliver ?? 5,
    backoffMs: [50, 100],
  });
  consumers.push(consumer);
  return { consumer, calls, events };
}

const rows = async (sql: string, ...values: unknown[]) => (await scratch.pool.query(sql, values)).rows;
const projected = async (name: string) =>
  rows(`select key from "${ctx}".projection where consumer = $1 order by key`, name);
const processedCount = async (name: string) =>
  Number((await rows(`select count(*) as n from "${ctx}".processed_events where consumer = $1`, name))[0].n);
/** The durable consumer has settled every message of the stream (acked or terminated). */
const caughtUp = async (name: string) => {
  const [ci, si] = await Promise.all([jsm.consumers.info(stream, name), jsm.streams.info(stream)]);
  return ci.num_ack_pending === 0 && ci.num_pending === 0 && ci.delivered.stream_seq >= si.state.last_seq;
};
const deadLetter = (name: string) =>
  jsm.streams.getMessage(DEADLETTER_STREAM, { last_by_subj: `deadletter.${ctx}.${name}` }).catch(() => null);

describe('event backbone', () => {
  it('relays an enqueued event to a consumer with its payload, envelope and traceparent', async () => {
    const type = pingEvent(ctx, 'e2e');
    const { events } = await consume('e2e', [type]);
    const traceparent = newTraceparent();
    const id = await enqueue(type, { key: 'k1', seq: 7, note: 'hello' }, traceparent);
    const idNoTrace = await enqueue(type, { key: 'k2' });

    await eventually('two events', () => events.length === 2, { timeoutMs: 15_000 });
    const [event, second] = events as [ReceivedEvent, ReceivedEvent];
    expect(event.id).toBe(id);
    expect(isUuid(id)).toBe(true);
    expect(event.type).toBe(type.subject);
    expect(event.source).toBe(ctx);
    expect(event.traceparent).toBe(traceparent);
    expect(event.payload).toMatchObject({ key: 'k1', seq: 7, note: 'hello' });
    expect(event.deliveryCount).toBe(1);
    const [row] = await rows(`select created_at, published_at, attempts from "${ctx}".outbox_events where id = $1`, id);
    expect(event.time).toBe(row.created_at.toISOString());
    expect(row.published_at).not.toBeNull();
    expect(row.attempts).toBe(0);
    expect(second.id).toBe(idNoTrace);
    expect(isTraceparent(second.traceparent)).toBe(true);

    // The message itself carries the header contract shared with the Rust subgraphs.
    const stored = await jsm.streams.getMessage(stream, { seq: event.streamSequence });
    expect(stored.header.get('Nats-Msg-Id')).toBe(id);
    expect(stored.header.get('ce-type')).toBe(type.subject);
    expect(stored.header.get('ce-source')).toBe(ctx);
    expect(stored.header.get('ce-time')).toBe(event.time);
    expect(stored.header.get('traceparent')).toBe(traceparent);
    expect(await processedCount('e2e')).toBe(2);
  });

  it('publishes nothing from a transaction that rolls back', async () => {
    const type = pingEvent(ctx, 'rollback');
    const { events } = await consume('rollback', [type]);
    let rolledBackId = '';
    await expect(
      scratch.transaction(async (tx) => {
        rolledBackId = await enqueueEvent(tx, ctx, type, { key: 'never' });
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    await enqueue(type, { key: 'after' });

    // Relayed in id order, so once "after" arrived the rolled-back one would have too.
    await eventually('the committed event', () => events.some((e) => (e.payload as unknown as Ping).key === 'after'), {
      timeoutMs: 15_000,
    });
    expect(events.map((e) => (e.payload as unknown as Ping).key)).toEqual(['after']);
    expect(await rows(`select id from "${ctx}".outbox_events where id = $1`, rolledBackId)).toHaveLength(0);
  });

  it('handles an event relayed twice only once (JetStream de-dup, then processed_events)', async () => {
    const type = pingEvent(ctx, 'dup');
    const { calls } = await consume('dup', [type]);
    const id = await enqueue(type, { key: 'once' });
    await eventually('first delivery', () => calls.get(id) === 1, { timeoutMs: 15_000 });
    const subjectCount = async () =>
      (await jsm.streams.info(stream, { subjects_filter: type.subject })).state.subjects?.[type.subject] ?? 0;
    const republish = async () => {
      const before = relay.published;
      await rows(`update "${ctx}".outbox_events set published_at = null where id = $1`, id);
      await eventually(
        'the relay to publish again',
        async () =>
          relay.published > before &&
          (await rows(`select 1 from "${ctx}".outbox_events where id = $1 and published_at is not null`, id)).length ===
            1,
        { timeoutMs: 15_000 },
      );
    };

    // Within the duplicate window JetStream drops the second copy.
    await republish();
    expect(await subjectCount()).toBe(1);

    // Past the window (shrunk here) the copy is stored and delivered: processed_events stops it.
    await jsm.streams.update(stream, { duplicate_window: nanos(100) });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await republish();
      expect(await subjectCount()).toBe(2);
      await eventually('the consumer to settle the copy', () => caughtUp('dup'), { timeoutMs: 15_000 });
    } finally {
      await jsm.streams.update(stream, { duplicate_window: nanos(120_000) });
    }
    expect(calls.get(id)).toBe(1);
    expect(await projected('dup')).toEqual([{ key: 'once' }]);
    expect(await processedCount('dup')).toBe(1);
  });

  it('retries a failing handler with backoff and applies the event once when it succeeds', async () => {
    const type = pingEvent(ctx, 'flaky');
    const { calls, events } = await consume('flaky', [type], { fail: (_, n) => n <= 2 });
    const id = await enqueue(type, { key: 'flaky' });
    await eventually('the third attempt', () => events.length === 1, { timeoutMs: 15_000 });
    expect(calls.get(id)).toBe(3);
    expect(events[0]!.deliveryCount).toBe(3);
    // The failed attempts' writes rolled back with their transactions.
    expect(await projected('flaky')).toEqual([{ key: 'flaky' }]);
    expect(await processedCount('flaky')).toBe(1);
  });

  it('dead-letters an event whose handler always fails after maxDeliver, and goes on', async () => {
    const type = pingEvent(ctx, 'poison');
    const { calls, events, consumer } = await consume('poison', [type], {
      maxDeliver: 3,
      fail: (e) => (e.payload as unknown as Ping).key === 'poison',
    });
    const badId = await enqueue(type, { key: 'poison', note: 'bad' });
    const goodId = await enqueue(type, { key: 'fine' });

    const dl = await eventually('the dead letter', () => deadLetter('poison'), { timeoutMs: 15_000 });
    await eventually('the next event', () => events.some((e) => e.id === goodId), { timeoutMs: 15_000 });
    expect(calls.get(badId)).toBe(3);
    expect(dl.header.get('x-error')).toBe('refused poison (call 3)');
    expect(dl.header.get('x-consumer')).toBe(`${ctx}.poison`);
    expect(dl.header.get('x-delivery-count')).toBe('3');
    expect(dl.header.get('x-subject')).toBe(type.subject);
    expect(dl.header.get('x-event-id')).toBe(badId);
    expect(dl.header.get('ce-type')).toBe(type.subject);
    expect(dl.header.get('traceparent')).toBeTruthy();
    const original = await jsm.streams.getMessage(stream, { seq: Number(dl.header.get('x-stream-sequence')) });
    expect(Buffer.from(dl.data).equals(Buffer.from(original.data))).toBe(true);
    await eventually('the poison message to be terminated', () => caughtUp('poison'), { timeoutMs: 15_000 });
    expect(consumer.deadLettered).toBe(1);
    expect(await projected('poison')).toEqual([{ key: 'fine' }]);
  });

  it('dead-letters malformed messages at once, without calling the handler', async () => {
    const type = pingEvent(ctx, 'malformed');
    const { calls, events } = await consume('malformed', [type]);
    const js = jetstream(nc);
    // No headers at all.
    await js.publish(type.subject, new Uint8Array([1, 2, 3]));
    // A proper envelope around bytes that are no Ping (field 1 says 100 bytes follow; 1 does).
    const id = '0190a0b0-c0d0-7e00-8000-000000000001';
    await js.publish(type.subject, new Uint8Array([0x0a, 100, 0x41]), {
      msgID: id,
      headers: envelopeHeaders({
        id,
        subject: type.subject,
        source: ctx,
        time: new Date(),
        traceparent: newTraceparent(),
      }),
    });
    await enqueue(type, { key: 'valid' });

    await eventually('the valid event', () => events.length === 1, { timeoutMs: 15_000 });
    await eventually('the malformed messages to be settled', () => caughtUp('malformed'), { timeoutMs: 15_000 });
    expect(calls.size).toBe(1);
    const dl = await eventually('the dead letters', () => deadLetter('malformed'), { timeoutMs: 15_000 });
    expect(dl.header.get('x-delivery-count')).toBe('1');
    expect(dl.header.get('x-error')).toMatch(/payload is not a coursegraph.testing.v1.Ping/);
    const count = (await jsm.streams.info(DEADLETTER_STREAM, { subjects_filter: `deadletter.${ctx}.malformed` })).state
      .subjects;
    expect(count?.[`deadletter.${ctx}.malformed`]).toBe(2);
  });

  it('consumes several event types and acks events it has no handler for', async () => {
    const [a, b, other] = [
      pingEvent(ctx, 'multi', 'a'),
      pingEvent(ctx, 'multi', 'b'),
      pingEvent(ctx, 'multi', 'other'),
    ];
    const { events } = await consume('multi', [a, b]);
    await enqueue(a, { key: '1' });
    await enqueue(other, { key: 'ignored' });
    await enqueue(b, { key: '2' });
    await eventually('both handled types', () => events.length === 2, { timeoutMs: 15_000 });
    await eventually('every message settled', () => caughtUp('multi'), { timeoutMs: 15_000 });
    expect(events.map((e) => e.type)).toEqual([a.subject, b.subject]);
    expect(await projected('multi')).toEqual([{ key: '1' }, { key: '2' }]);
  });

  it('recreates a durable consumer restarted with more handlers: the new handler gets its history, nothing is applied twice', async () => {
    const [a, b] = [pingEvent(ctx, 'evolve', 'a'), pingEvent(ctx, 'evolve', 'b')];
    const first = await consume('evolve', [a]);
    await enqueue(a, { key: 'a1' });
    await enqueue(b, { key: 'b1' }); // not in the first consumer's filter
    await eventually('a1', () => first.events.length === 1, { timeoutMs: 15_000 });
    await first.consumer.stop();

    const second = await consume('evolve', [a, b]);
    await enqueue(b, { key: 'b2' });
    await eventually('b2', () => second.events.some((e) => (e.payload as unknown as Ping).key === 'b2'), {
      timeoutMs: 15_000,
    });
    await eventually('the consumer to settle', () => caughtUp('evolve'), { timeoutMs: 15_000 });
    // a1 is not applied again (processed_events); the new handler gets b1, its type's history, and b2.
    expect(second.events.map((e) => (e.payload as unknown as Ping).key)).toEqual(['b1', 'b2']);
    expect((await projected('evolve')).map((r) => r.key)).toEqual(['a1', 'b1', 'b2']);
  });

  it('lets several relays of one context share the outbox without publishing a row twice', async () => {
    const type = pingEvent(ctx, 'shared');
    const { events } = await consume('shared', [type]);
    const second = await startOutboxRelay({
      context: ctx,
      databaseUrl: scratch.databaseUrl,
      natsUrl: NATS_URL,
      logger,
      batchSize: 10,
      pollIntervalMs: 200,
    });
    const before = relay.published;
    try {
      await Promise.all(
        Array.from({ length: 8 }, (_, w) =>
          (async () => {
            for (let i = 0; i < 25; i++) await enqueue(type, { key: `w${w}-${i}` });
          })(),
        ),
      );
      await eventually('200 events', () => events.length === 200, { timeoutMs: 30_000 });
      await eventually('the consumer to settle', () => caughtUp('shared'), { timeoutMs: 15_000 });
    } finally {
      await second.stop();
    }
    expect(relay.published - before + second.published).toBe(200);
    expect(new Set(events.map((e) => e.id)).size).toBe(200);
    expect(await processedCount('shared')).toBe(200);
  });

  it('replays a stream into a cleared projection, and the durable consumer carries on', async () => {
    const type = pingEvent(ctx, 'replay');
    const first = await consume('replay', [type]);
    for (let i = 1; i <= 5; i++) await enqueue(type, { key: `r${i}` });
    await eventually('five events', () => first.events.length === 5, { timeoutMs: 15_000 });
    await first.consumer.stop();
    // The projection drifted (a lost row, a stray one): replay rebuilds it from the stream.
    await rows(`delete from "${ctx}".projection where consumer = 'replay' and key in ('r2', 'r4')`);
    await rows(`insert into "${ctx}".projection values ('replay', '0190a0b0-c0d0-7e00-8000-0000000000ff', 'stray')`);

    const handler = on(type, async (tx: PgExecutor, event) => {
      await tx.$executeRawUnsafe(
        `insert into "${ctx}".projection (consumer, event_id, key) values ('replay', $1, $2)`,
        event.id,
        (event.payload as unknown as Ping).key,
      );
    });
    const result = await replayConsumer({
      context: ctx,
      name: 'replay',
      stream,
      natsUrl: NATS_URL,
      logger,
      transaction: scratch.transaction,
      handlers: [handler],
      reset: async (tx) => {
        await tx.$executeRawUnsafe(`delete from "${ctx}".projection where consumer = 'replay'`);
      },
    });
    expect(result.events).toBe(5);
    expect((await projected('replay')).map((r) => r.key)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(await processedCount('replay')).toBe(5);

    const second = await consume('replay', [type]);
    await enqueue(type, { key: 'r6' });
    await eventually('the sixth event', () => second.events.length === 1, { timeoutMs: 15_000 });
    await eventually('the consumer to settle', () => caughtUp('replay'), { timeoutMs: 15_000 });
    expect(second.events.map((e) => (e.payload as unknown as Ping).key)).toEqual(['r6']);
    expect(await projected('replay')).toHaveLength(6);
  });

  it('rejects bad input before writing anything', async () => {
    const type = pingEvent(ctx, 'input');
    await expect(enqueue(type, { key: 'x' }, 'not-a-traceparent')).rejects.toThrow(/invalid traceparent/);
    await expect(scratch.transaction((tx) => enqueueEvent(tx, 'Bad-Name', type, {}))).rejects.toThrow(
      /invalid context name/,
    );
    await expect(scratch.transaction((tx) => enqueueEvent(tx, 'other_ctx', type, {}))).rejects.toThrow(
      /cannot publish/,
    );
    expect(await rows(`select 1 from "${ctx}".outbox_events where subject = $1`, type.subject)).toHaveLength(0);
    await expect(
      startConsumer({
        context: ctx,
        name: 'has.dot',
        stream,
        natsUrl: NATS_URL,
        logger,
        transaction: scratch.transaction,
        handlers: [on(type, async () => {})],
      }),
    ).rejects.toThrow(/invalid consumer name/);
  });
});
