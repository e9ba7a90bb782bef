// Events that cannot wedge the backbone, against the real PostgreSQL (a scratch schema) and the real
// NATS JetStream: too-large events refused when written, unpublishable outbox rows parked while the
// rows behind them go on, and dead letters re-driven to the one consumer that failed them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createLogger } from '../src/logger.js';
import { enqueueEvent } from '../src/events/outbox.js';
import { startOutboxRelay, type OutboxRelay } from '../src/events/relay.js';
import { on, redriveConsumerName, startConsumer, type EventConsumer } from '../src/events/consumer.js';
import { envelopeHeaders } from '../src/events/envelope.js';
import { encodedHeadersSize, EventTooLargeError } from '../src/events/event-size.js';
import { outboxSettingsFromEnv } from '../src/events/outbox-settings.js';
import { countParked, listParked, redriveParked, summarizeOutbox } from '../src/events/parked-outbox.js';
import { classifyPublishError } from '../src/events/publish-failure.js';
import {
  listDeadLetters,
  parseDeadLetterTarget,
  redriveDeadLetters,
  summarizeDeadLetters,
} from '../src/events/dead-letters.js';
import { DEADLETTER_STREAM, REDRIVE_STREAM } from '../src/events/nats.js';
import { natsConnectOptions } from '../src/events/nats-credentials.js';
import { newId } from '../src/ids.js';
import { newTraceparent } from '../src/events/traceparent.js';
import type { PgExecutor } from '../src/events/pg.js';
import type { ReceivedEvent } from '../src/events/types.js';
import { createScratchContext, pingEvent, type Ping, type ScratchContext } from '../src/events/testing.js';
import { eventually } from '@coursegraph/test-support';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const logger = createLogger('events-parking-test', process.env.EVENTS_TEST_LOG ?? 'silent');
const MAX_ATTEMPTS = 3;

let scratch: ScratchContext;
let ctx: string;
let nc: NatsConnection;
let jsm: JetStreamManager;
let relay: OutboxRelay | undefined;
const consumers: EventConsumer[] = [];

beforeAll(async () => {
  scratch = await createScratchContext(
    'evpark',
    `create table $schema.projection (consumer text not null, event_id uuid not null, key text not null, primary key (consumer, event_id));
     create table $schema.changes (key text primary key);`,
  );
  ctx = scratch.context;
  nc = await connect(natsConnectOptions(NATS_URL));
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await relay?.stop();
  for (const name of ['parked', 'redrive', 'bystander'])
    await jsm?.consumers.delete(REDRIVE_STREAM, redriveConsumerName(ctx, name)).catch(() => undefined);
  await jsm?.streams.delete(ctx.toUpperCase()).catch(() => undefined);
  await jsm?.streams.delete(`${ctx.toUpperCase()}_ELSEWHERE`).catch(() => undefined);
  await jsm?.streams.purge(DEADLETTER_STREAM, { filter: `deadletter.${ctx}.>` }).catch(() => undefined);
  await jsm?.streams.purge(REDRIVE_STREAM, { filter: `redrive.${ctx}.>` }).catch(() => undefined);
  await nc?.close();
  await scratch?.drop();
});

const rows = async (sql: string, ...values: unknown[]) => (await scratch.pool.query(sql, values)).rows;
const outboxRow = async (id: string) =>
  (await rows(`select attempts, published_at, last_error from "${ctx}".outbox_events where id = $1`, id))[0];
const keyOf = (e: ReceivedEvent) => (e.payload as unknown as Ping).key;

/** A row written straight into the outbox, as an older producer (or a larger EVENT_MAX_BYTES) could have. */
async function insertRow(subject: string, payload: Buffer): Promise<string> {
  const id = newId();
  await rows(
    `insert into "${ctx}".outbox_events (id, subject, payload, traceparent) values ($1, $2, $3, $4)`,
    id,
    subject,
    payload,
    newTraceparent(),
  );
  return id;
}

describe('the outbox refuses an event too large for NATS when it is written', () => {
  it('throws EventTooLargeError (BAD_USER_INPUT) and the transaction writes nothing', async () => {
    const type = pingEvent(ctx, 'big');
    const { maxBytes } = outboxSettingsFromEnv({});
    expect(maxBytes).toBe(1024 * 1024 - 8 * 1024);
    const err = await scratch
      .transaction(async (tx) => {
        await tx.$executeRawUnsafe(`insert into "${ctx}".changes (key) values ('too-big')`);
        await enqueueEvent(tx, ctx, type, { key: 'too-big', note: 'x'.repeat(maxBytes) });
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(EventTooLargeError);
    const refused = err as EventTooLargeError;
    expect(refused.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'EVENT_TOO_LARGE',
      subject: type.subject,
      limit: maxBytes,
    });
    expect(refused.bytes).toBeGreaterThan(maxBytes);
    expect(refused.message).toMatch(/too large to publish/);
    expect(await rows(`select 1 from "${ctx}".changes`)).toHaveLength(0);
    expect(await rows(`select 1 from "${ctx}".outbox_events where subject = $1`, type.subject)).toHaveLength(0);
  });

  it('measures payload plus headers exactly: an event of exactly the limit is accepted, one byte less refuses it', async () => {
    const type = pingEvent(ctx, 'edge');
    const payload = { key: 'edge', note: 'y'.repeat(500) };
    const probe = await scratch
      .transaction((tx) => enqueueEvent(tx, ctx, type, payload, { maxBytes: 1 }))
      .then(
        () => null,
        (e: EventTooLargeError) => e,
      );
    const size = probe!.bytes;
    await expect(
      scratch.transaction((tx) => enqueueEvent(tx, ctx, type, payload, { maxBytes: size - 1 })),
    ).rejects.toBeInstanceOf(EventTooLargeError);
    const id = await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, payload, { maxBytes: size }));
    // The same count as the NATS client's own (what max_payload is compared with).
    const [row] = await rows(
      `select octet_length(payload) as bytes, traceparent, created_at from "${ctx}".outbox_events where id = $1`,
      id,
    );
    const h = envelopeHeaders({
      id,
      subject: type.subject,
      source: ctx,
      time: row.created_at,
      traceparent: row.traceparent,
    });
    expect(encodedHeadersSize(h)).toBe((h as unknown as { encode(): Uint8Array }).encode().length);
    expect(row.bytes + encodedHeadersSize(h)).toBe(size);
    await rows(`delete from "${ctx}".outbox_events where id = $1`, id);
  });

  it('reads EVENT_MAX_BYTES and EVENT_OUTBOX_MAX_ATTEMPTS, refusing bad values', () => {
    expect(outboxSettingsFromEnv({ EVENT_MAX_BYTES: '4096', EVENT_OUTBOX_MAX_ATTEMPTS: '2' })).toEqual({
      maxBytes: 4096,
      maxAttempts: 2,
    });
    expect(() => outboxSettingsFromEnv({ EVENT_MAX_BYTES: 'a lot' })).toThrow(
      /EVENT_MAX_BYTES="a lot": expected a positive integer/,
    );
  });
});

describe('the relay parks a row the server refuses and goes on', () => {
  it('classifies failures: outages are transient, refusals count, too-large is permanent', () => {
    expect(classifyPublishError(Object.assign(new Error('timeout'), { name: 'TimeoutError' }))).toBe('transient');
    expect(classifyPublishError(Object.assign(new Error('connection closed'), { name: 'ClosedConnectionError' }))).toBe(
      'transient',
    );
    expect(
      classifyPublishError(new Error('wrapped', { cause: Object.assign(new Error('x'), { name: 'TimeoutError' }) })),
    ).toBe('transient');
    expect(
      classifyPublishError(
        Object.assign(new Error('Permissions Violation for Publish to "a.b"'), { name: 'PermissionViolationError' }),
      ),
    ).toBe('refused');
    expect(
      classifyPublishError(Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' })),
    ).toBe('refused');
    expect(
      classifyPublishError(
        Object.assign(new Error('payload: max_payload size exceeded'), { name: 'InvalidArgumentError' }),
      ),
    ).toBe('permanent');
    expect(
      classifyPublishError(
        Object.assign(new Error('message size exceeds maximum allowed'), { name: 'JetStreamApiError', code: 10054 }),
      ),
    ).toBe('permanent');
  });

  it('parks a too-large row at once and a row no stream takes after the attempts; the rows behind are published; a re-drive publishes it once fixed', async () => {
    const type = pingEvent(ctx, 'parked');
    const events: ReceivedEvent[] = [];
    consumers.push(
      await startConsumer({
        context: ctx,
        name: 'parked',
        stream: ctx.toUpperCase(),
        natsUrl: NATS_URL,
        logger,
        transaction: scratch.transaction,
        handlers: [
          on(type, async (_tx, e) => {
            events.push(e);
          }),
        ],
        backoffMs: [50],
      }),
    );
    relay = await startOutboxRelay({
      context: ctx,
      databaseUrl: scratch.databaseUrl,
      natsUrl: NATS_URL,
      logger,
      pollIntervalMs: 100,
      maxAttempts: MAX_ATTEMPTS,
    });

    const before = await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key: 'before' }));
    // Larger than the server's max_payload (1 MiB by default): it can never be published.
    const tooLarge = await insertRow(type.subject, Buffer.alloc(nc.info!.max_payload + 1, 1));
    // A subject outside every stream: the server answers "no responders" on each attempt.
    const elsewhere = `${ctx}_elsewhere.ping.sent`;
    const homeless = await insertRow(elsewhere, Buffer.from([0x0a, 1, 0x41]));
    const behind: string[] = [];
    for (const key of ['a', 'b', 'c'])
      behind.push(await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key })));

    await eventually('the events around the unpublishable rows', () => events.length === 4, { timeoutMs: 15_000 });
    expect(events.map(keyOf)).toEqual(['before', 'a', 'b', 'c']);
    expect(events.map((e) => e.id)).toEqual([before, ...behind]);

    const big = await eventually(
      'the large row parked',
      async () => {
        const r = await outboxRow(tooLarge);
        return r.attempts >= MAX_ATTEMPTS ? r : null;
      },
      { timeoutMs: 15_000 },
    );
    expect(big.published_at).toBeNull();
    expect(big.last_error).toMatch(/bytes with its headers; the NATS server accepts at most \d+ \(max_payload\)/);
    const parked = await eventually(
      'the homeless row parked',
      async () => {
        const r = await outboxRow(homeless);
        return r.attempts >= MAX_ATTEMPTS ? r : null;
      },
      { timeoutMs: 30_000 },
    );
    expect(parked.attempts).toBe(MAX_ATTEMPTS);
    expect(parked.published_at).toBeNull();
    expect(parked.last_error).toBe(
      `no JetStream stream takes ${elsewhere} (the server has no responders for it: a missing stream, or JetStream off)`,
    );
    expect(relay.parked).toBe(2);

    // Visible: counted, listed, with the oldest first.
    expect(await countParked(scratch.pool, ctx, MAX_ATTEMPTS)).toMatchObject({ parked: 2 });
    const summary = await summarizeOutbox(scratch.pool, ctx, MAX_ATTEMPTS);
    expect(summary).toMatchObject({ parked: 2, retrying: 0, unpublished: 2, lastError: parked.last_error });
    expect((await listParked(scratch.pool, ctx, MAX_ATTEMPTS)).map((r) => [r.id, r.subject])).toEqual([
      [tooLarge, type.subject],
      [homeless, elsewhere],
    ]);

    // Still parked after the relay has had time for many more attempts: it skips them.
    const after = await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key: 'after' }));
    await eventually('an event after parking', () => events.some((e) => e.id === after), { timeoutMs: 15_000 });
    expect((await outboxRow(homeless)).attempts).toBe(MAX_ATTEMPTS);

    // The cause is fixed (a stream now takes the subject); the re-drive publishes the row, and only it.
    await jsm.streams.add({ name: `${ctx.toUpperCase()}_ELSEWHERE`, subjects: [`${ctx}_elsewhere.>`] });
    expect(await redriveParked(scratch.pool, ctx, MAX_ATTEMPTS, [homeless])).toEqual([homeless]);
    await eventually('the re-driven row published', async () => (await outboxRow(homeless)).published_at !== null, {
      timeoutMs: 15_000,
    });
    const stored = await jsm.streams.getMessage(`${ctx.toUpperCase()}_ELSEWHERE`, { last_by_subj: elsewhere });
    expect(stored?.header.get('Nats-Msg-Id')).toBe(homeless);
    // The too-large one, re-driven without a fix, is parked again at once.
    expect(await redriveParked(scratch.pool, ctx, MAX_ATTEMPTS)).toEqual([tooLarge]);
    await eventually('the large row parked again', async () => (await outboxRow(tooLarge)).attempts >= MAX_ATTEMPTS, {
      timeoutMs: 15_000,
    });
    expect((await outboxRow(tooLarge)).published_at).toBeNull();
    expect(events.filter((e) => e.id === tooLarge)).toHaveLength(0);
  });
});

describe('dead letters are counted and re-driven to the consumer that failed them', () => {
  it('lists the dead letter, re-drives it to that consumer only, which applies it once; a letter that fails again is dead-lettered again', async () => {
    const type = pingEvent(ctx, 'dl');
    let broken = true;
    const calls = new Map<string, number>();
    const handle = (name: string, fails: boolean) =>
      on(type, async (tx: PgExecutor, e) => {
        calls.set(`${name}:${e.id}`, (calls.get(`${name}:${e.id}`) ?? 0) + 1);
        await tx.$executeRawUnsafe(
          `insert into "${ctx}".projection (consumer, event_id, key) values ($1, $2, $3)`,
          name,
          e.id,
          keyOf(e),
        );
        if (fails && broken && keyOf(e) === 'poison') throw new Error('cannot apply poison yet');
      });
    const start = (name: string, fails: boolean) =>
      startConsumer({
        context: ctx,
        name,
        stream: ctx.toUpperCase(),
        natsUrl: NATS_URL,
        logger,
        transaction: scratch.transaction,
        handlers: [handle(name, fails)],
        maxDeliver: 2,
        backoffMs: [50],
      });
    consumers.push(await start('redrive', true), await start('bystander', false));
    relay ??= await startOutboxRelay({
      context: ctx,
      databaseUrl: scratch.databaseUrl,
      natsUrl: NATS_URL,
      logger,
      pollIntervalMs: 100,
    });
    const poison = await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key: 'poison' }));
    const fine = await scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key: 'fine' }));
    const subject = `deadletter.${ctx}.redrive`;
    const summaryOf = async () => (await summarizeDeadLetters(nc)).find((s) => s.subject === subject);

    const first = await eventually('the dead letter', summaryOf, { timeoutMs: 15_000 });
    await eventually('the event behind it', () => calls.get(`redrive:${fine}`) === 1, { timeoutMs: 15_000 });
    expect(first).toMatchObject({
      context: ctx,
      consumer: 'redrive',
      count: 1,
      lastError: 'cannot apply poison yet',
      waitingRedrive: 0,
    });
    expect(first.oldest).toBe(first.newest);
    const [letter] = await listDeadLetters(nc, `${ctx}.redrive`);
    expect(letter).toMatchObject({
      eventId: poison,
      originalSubject: type.subject,
      deliveryCount: 2,
      error: 'cannot apply poison yet',
    });

    // Re-driven while the cause remains: handled again, and dead-lettered again (not lost as a duplicate).
    const again = await redriveDeadLetters(nc, subject);
    expect(again.redriven.map((l) => l.eventId)).toEqual([poison]);
    expect(again.redriveSubject).toBe(`redrive.${ctx}.redrive`);
    expect(again.skipped).toEqual([]);
    await eventually('two more deliveries of the re-driven letter', () => calls.get(`redrive:${poison}`) === 4, {
      timeoutMs: 15_000,
    });
    const second = await eventually(
      'the second dead letter',
      async () => {
        const s = await summaryOf();
        return s?.count === 1 && s.newest !== first.newest ? s : null;
      },
      { timeoutMs: 15_000 },
    );
    expect(second.waitingRedrive).toBe(0);

    // Fixed: the re-drive applies it once, to this consumer only; nothing is left anywhere.
    broken = false;
    expect((await redriveDeadLetters(nc, `${ctx}.redrive`, [poison])).redriven).toHaveLength(1);
    await eventually(
      'the re-driven event applied',
      async () =>
        (await rows(`select 1 from "${ctx}".projection where consumer = 'redrive' and event_id = $1`, poison))
          .length === 1,
      { timeoutMs: 15_000 },
    );
    await eventually('no dead letters left', async () => (await summaryOf()) === undefined, { timeoutMs: 15_000 });
    await eventually(
      'the re-drive queue emptied',
      async () =>
        ((await jsm.streams.info(REDRIVE_STREAM, { subjects_filter: `redrive.${ctx}.>` })).state.subjects?.[
          `redrive.${ctx}.redrive`
        ] ?? 0) === 0,
      { timeoutMs: 15_000 },
    );
    expect(calls.get(`redrive:${poison}`)).toBe(5);
    expect(calls.get(`bystander:${poison}`)).toBe(1);
    expect(
      await rows(`select event_id from "${ctx}".processed_events where consumer = 'redrive' and event_id = $1`, poison),
    ).toHaveLength(1);
    expect(await rows(`select 1 from "${ctx}".projection where consumer = 'bystander'`)).toHaveLength(2);
  });

  it('leaves in place a dead letter that has no event id (malformed when it arrived): no consumer could apply it', async () => {
    const subject = `deadletter.${ctx}.headless`;
    await jetstream(nc).publish(subject, new Uint8Array([1, 2, 3]));
    const result = await redriveDeadLetters(nc, subject);
    expect(result.redriven).toEqual([]);
    expect(result.skipped).toHaveLength(1);
    expect(result.skipped[0]).toMatchObject({ eventId: null, originalSubject: null });
    expect((await summarizeDeadLetters(nc)).find((s) => s.subject === subject)).toMatchObject({
      count: 1,
      waitingRedrive: 0,
    });
  });

  it('refuses a target that is not a dead-letter subject, naming the expected form', async () => {
    for (const bad of ['', 'enrollment', 'deadletter.>', 'a.b.c', 'Enrollment.x', 'x.y z']) {
      expect(() => parseDeadLetterTarget(bad), bad).toThrow(
        /not a dead-letter subject: .* \(expected deadletter\.<context>\.<consumer> or <context>\.<consumer>\)/,
      );
    }
    expect(parseDeadLetterTarget('enrollment.enrollment-payments')).toEqual({
      subject: 'deadletter.enrollment.enrollment-payments',
      context: 'enrollment',
      consumer: 'enrollment-payments',
    });
    await expect(redriveDeadLetters(nc, 'deadletter.*.x')).rejects.toThrow(/not a dead-letter subject/);
  });
});
