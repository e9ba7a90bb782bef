/**
 * ensureStream on a NATS server of the test's own, where no stream exists yet: services (and
 * parallel test files) that start together all create the same streams at once, and each must
 * succeed; a stream of another name that holds the subjects is a real conflict and is reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { DEADLETTER_STREAM, ensureStream } from '../src/events/nats.js';
import { privateNats, type PrivateNats } from '../../../test/support/private-nats.js';

let nats: PrivateNats;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  nats = await privateNats();
  await nats.start();
  for (let i = 0; i < 8; i++) connections.push(await connect({ servers: nats.url }));
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
