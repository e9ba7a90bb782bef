/**
 * ensureStream on a NATS server of the test's own, where no stream exists yet: services (and
 * parallel test files) that start together all create the same streams at once, and each must
 * succeed; a stream of another name that holds the subjects is a real conflict and is reported.
 * Every stream gets retention limits, and an existing stream takes new ones in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { ConfigError } from '../src/config.js';
import { DEADLETTER_STREAM, ensureStream, streamRetentionFromEnv } from '../src/events/nats.js';
import { natsConnectOptions } from '../src/events/nats-credentials.js';
import { privateNats, type PrivateNats } from '@coursegraph/test-support';

let nats: PrivateNats;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  nats = await privateNats();
  await nats.start();
  for (let i = 0; i < 8; i++) connections.push(await connect(natsConnectOptions(nats.url)));
});

afterAll(async () => {
  for (const nc of connections) await nc.close();
  await nats?.dispose();
});

describe('ensureStream', () => {
  it('succeeds for every caller when many create the same streams at once', async () => {
    const managers = await Promise.all(connections.map((nc) => jetstreamManager(nc)));
    const contexts = Array.from({ length: 20 }, (_, i) => `race${String.fromCharCode(97 + i)}`);
    // Every connection creates every context's stream (and DEADLETTER) at the same moment.
    const names = await Promise.all(contexts.flatMap((context) => managers.map((jsm) => ensureStream(jsm, context))));
    expect(new Set(names)).toEqual(new Set(contexts.map((c) => c.toUpperCase())));
    for (const context of contexts) {
      const info = await managers[0]!.streams.info(context.toUpperCase());
      expect(info.config.subjects).toEqual([`${context}.>`]);
    }
    const deadletter = await managers[0]!.streams.info(DEADLETTER_STREAM);
    expect(deadletter.config.subjects).toEqual(['deadletter.>']);
  });

  it('reports a stream of another name that holds the subjects', async () => {
    const jsm = await jetstreamManager(connections[0]!);
    await jsm.streams.add({ name: 'SOMEONE_ELSE', subjects: ['taken.>'] });
    await expect(ensureStream(jsm, 'taken')).rejects.toThrow(/could not create stream TAKEN: .*subjects overlap/);
  });
});

describe('retention', () => {
  const DAY_NS = 24 * 60 * 60 * 1e9;
  const MB = 1024 * 1024;

  it('gives every new stream its limits from the settings, the dead letters shorter ones', async () => {
    const jsm = await jetstreamManager(connections[0]!);
    await ensureStream(jsm, 'kept');
    const defaults = streamRetentionFromEnv({});
    expect(defaults).toEqual({
      maxAgeDays: 365,
      maxMb: 1024,
      deadLetterMaxAgeDays: 30,
      deadLetterMaxMb: 256,
      replicas: 1,
    });
    const kept = (await jsm.streams.info('KEPT')).config;
    expect({ maxAge: kept.max_age, maxBytes: kept.max_bytes }).toEqual({ maxAge: 365 * DAY_NS, maxBytes: 1024 * MB });
    const deadletter = (await jsm.streams.info(DEADLETTER_STREAM)).config;
    expect({ maxAge: deadletter.max_age, maxBytes: deadletter.max_bytes }).toEqual({
      maxAge: 30 * DAY_NS,
      maxBytes: 256 * MB,
    });
  });

  it('keeps each stream on EVENT_STREAM_REPLICAS servers (1 here; JetStream allows 1 to 5)', async () => {
    const jsm = await jetstreamManager(connections[0]!);
    await ensureStream(jsm, 'kept');
    expect((await jsm.streams.info('KEPT')).config.num_replicas).toBe(1);
    expect(streamRetentionFromEnv({ EVENT_STREAM_REPLICAS: '3' }).replicas).toBe(3);
    for (const bad of ['0', '6', 'three'])
      expect(() => streamRetentionFromEnv({ EVENT_STREAM_REPLICAS: bad })).toThrow(/EVENT_STREAM_REPLICAS/);
  });

  it('updates a stream made without limits in place: its events and durable consumer stay', async () => {
    const jsm = await jetstreamManager(connections[0]!);
    // As an older version (or a consumer in another language) created it: no limits.
    await jsm.streams.add({ name: 'LEGACY', subjects: ['legacy.>'] });
    const js = jetstream(connections[0]!);
    for (let i = 0; i < 5; i++) await js.publish('legacy.thing.happened', new TextEncoder().encode(`event ${i}`));
    await jsm.consumers.add('LEGACY', { durable_name: 'legacy-reader', ack_policy: AckPolicy.Explicit });

    await ensureStream(jsm, 'legacy', {
      maxAgeDays: 7,
      maxMb: 2,
      deadLetterMaxAgeDays: 1,
      deadLetterMaxMb: 1,
      replicas: 1,
    });
    const info = await jsm.streams.info('LEGACY');
    expect({ maxAge: info.config.max_age, maxBytes: info.config.max_bytes, messages: info.state.messages }).toEqual({
      maxAge: 7 * DAY_NS,
      maxBytes: 2 * MB,
      messages: 5,
    });
    expect((await jsm.consumers.info('LEGACY', 'legacy-reader')).num_pending).toBe(5);

    // New values (a changed setting) update it again; the same values change nothing.
    await ensureStream(jsm, 'legacy', {
      maxAgeDays: 30,
      maxMb: 4,
      deadLetterMaxAgeDays: 1,
      deadLetterMaxMb: 1,
      replicas: 1,
    });
    const updated = await jsm.streams.info('LEGACY');
    expect({
      maxAge: updated.config.max_age,
      maxBytes: updated.config.max_bytes,
      messages: updated.state.messages,
    }).toEqual({ maxAge: 30 * DAY_NS, maxBytes: 4 * MB, messages: 5 });
    await ensureStream(jsm, 'legacy', {
      maxAgeDays: 30,
      maxMb: 4,
      deadLetterMaxAgeDays: 1,
      deadLetterMaxMb: 1,
      replicas: 1,
    });
    expect((await jsm.streams.info('LEGACY')).created).toBe(updated.created);
  });

  it('drops the oldest events past the byte limit; a durable consumer reads on from the oldest kept', async () => {
    const jsm = await jetstreamManager(connections[0]!);
    await ensureStream(jsm, 'bounded', {
      maxAgeDays: 365,
      maxMb: 1,
      deadLetterMaxAgeDays: 30,
      deadLetterMaxMb: 256,
      replicas: 1,
    });
    await jsm.consumers.add('BOUNDED', { durable_name: 'bounded-reader', ack_policy: AckPolicy.Explicit });
    const js = jetstream(connections[0]!);
    const payload = new Uint8Array(64 * 1024);
    for (let i = 0; i < 40; i++) await js.publish('bounded.blob.stored', payload); // 2.5 MB into a 1 MB stream
    const { state } = await jsm.streams.info('BOUNDED');
    expect(state.bytes).toBeLessThanOrEqual(MB);
    expect(state.first_seq).toBeGreaterThan(1);
    expect(state.last_seq).toBe(40);
    const consumer = await js.consumers.get('BOUNDED', 'bounded-reader');
    const first = await consumer.next({ expires: 5_000 });
    expect(first?.seq).toBe(state.first_seq);
    first?.ack();
  });

  it('refuses a bad setting, naming the variable', () => {
    expect(() => streamRetentionFromEnv({ EVENT_STREAM_MAX_AGE_DAYS: '0', EVENT_DEADLETTER_MAX_MB: 'lots' })).toThrow(
      ConfigError,
    );
    expect(() => streamRetentionFromEnv({ EVENT_STREAM_MAX_AGE_DAYS: '0' })).toThrow(
      /EVENT_STREAM_MAX_AGE_DAYS="0": expected a positive integer/,
    );
  });
});
