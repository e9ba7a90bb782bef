// NATS going away must only delay events: a private nats-server (so the shared one is untouched)
// is stopped while an event is enqueued, then started again on the same port and store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { enqueueEvent } from '../src/events/outbox.js';
import { startOutboxRelay, type OutboxRelay } from '../src/events/relay.js';
import { on, startConsumer, type EventConsumer } from '../src/events/consumer.js';
import type { ReceivedEvent } from '../src/events/types.js';
import { createScratchContext, pingEvent, type ScratchContext } from '../src/events/testing.js';
import { privateNats, type PrivateNats, eventually } from '@coursegraph/test-support';

const logger = createLogger('events-outage-test', process.env.EVENTS_TEST_LOG ?? 'silent');

let scratch: ScratchContext;
let nats: PrivateNats;
let relay: OutboxRelay | undefined;
let consumer: EventConsumer | undefined;
const startNats = () => nats.start();
const stopNats = () => nats.stop();

beforeAll(async () => {
  scratch = await createScratchContext('evout');
  nats = await privateNats();
  await startNats();
});

afterAll(async () => {
  await consumer?.stop();
  await relay?.stop();
  await nats?.dispose();
  await scratch?.drop();
});

describe('event backbone with NATS unavailable', () => {
  it('keeps an event enqueued during an outage and delivers it exactly once afterwards', async () => {
    const ctx = scratch.context;
    const natsUrl = nats.url;
    const type = pingEvent(ctx);
    const calls = new Map<string, number>();
    const handler = on(type, async (_tx, event: ReceivedEvent) => {
      calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
    });
    const enqueue = (key: string) => scratch.transaction((tx) => enqueueEvent(tx, ctx, type, { key }));
    const outboxRow = async (id: string) =>
      (
        await scratch.pool.query(
          `select attempts, published_at, last_error from "${ctx}".outbox_events where id = $1`,
          [id],
        )
      ).rows[0];

    relay = await startOutboxRelay({
      context: ctx,
      databaseUrl: scratch.databaseUrl,
      natsUrl,
      logger,
      pollIntervalMs: 200,
      publishTimeoutMs: 500,
    });
    consumer = await startConsumer({
      context: ctx,
      name: 'outage',
      stream: ctx.toUpperCase(),
      natsUrl,
      logger,
      transaction: scratch.transaction,
      handlers: [handler],
    });
    const before = await enqueue('before');
    await eventually('the event before the outage', () => calls.get(before) === 1, { timeoutMs: 15_000 });

    await stopNats();
    const during = await enqueue('during');
    // The relay keeps trying: the row records why it is not published and stays unpublished, but an
    // outage is not the row's fault, so it counts no attempt toward parking however long it lasts.
    const failed = await eventually(
      'a failed attempt',
      async () => {
        const row = await outboxRow(during);
        return row.last_error ? row : null;
      },
      { timeoutMs: 15_000 },
    );
    expect(failed.published_at).toBeNull();
    expect(failed.attempts).toBe(0);
    // A relay started while NATS is down starts anyway and stops cleanly.
    const lateRelay = await startOutboxRelay({ context: ctx, databaseUrl: scratch.databaseUrl, natsUrl, logger });
    await lateRelay.stop();

    await startNats();
    await eventually('the event enqueued during the outage', () => calls.get(during) === 1, { timeoutMs: 30_000 });
    const after = await enqueue('after');
    await eventually('the event after the outage', () => calls.get(after) === 1, { timeoutMs: 15_000 });
    expect((await outboxRow(during)).published_at).not.toBeNull();
    expect([...calls.values()]).toEqual([1, 1, 1]);
    const processed = await scratch.pool.query(
      `select count(*)::int as n from "${ctx}".processed_events where consumer = 'outage'`,
    );
    expect(processed.rows[0].n).toBe(3);
  });
});
