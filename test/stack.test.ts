import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { natsConnectOptions } from '@coursegraph/service-kit';
import { jetstreamManager } from '@nats-io/jetstream';
import { status } from '../scripts/lib/stack/index.mjs';
import { natsUrl } from '../scripts/lib/env.mjs';

describe('the local stack', () => {
  it('has PostgreSQL, Redis and NATS (with JetStream) answering', async () => {
    expect(await status()).toEqual({ postgres: true, redis: true, nats: true });
  });

  it('accepts JetStream management calls on NATS', async () => {
    const nc = await connect(natsConnectOptions(natsUrl()));
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      expect(info.limits).toBeDefined();
    } finally {
      await nc.close();
    }
  });
});
