/**
 * The kit's OpenFeature provider (packages/service-kit/src/flags/) against a real flags subgraph
 * and a real NATS: services load every flag over the signed internal route, apply changes from
 * flags.flag.changed without asking back, answer the code's default (reason ERROR) for a flag they
 * do not know or while flags cannot be reached, reload after a NATS reconnect, and report exposures,
 * which flags adds up for admins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { FLAGS_INTERNAL_PATH, signInternalRequest } from '@coursegraph/service-kit';
import { eventually, freePort } from '@coursegraph/test-support';
import { startFlagsService, uniqueKey, type FlagsHarness } from './harness.js';

let h: FlagsHarness;
let admin: { token: string; userId: string };
beforeAll(async () => {
  h = await startFlagsService();
  admin = await h.admin();
});
afterAll(() => h?.close());

const create = async (input: Record<string, unknown>) => {
  const res = await h.gql(
    `mutation($i: CreateFlagInput!) { createFlag(input: $i) { version } }`,
    { i: input },
    admin.token,
  );
  expect(res.body.errors).toBeUndefined();
};
const setEnabled = async (key: string, enabled: boolean) => {
  const res = await h.gql(
    `mutation($k: String!, $e: Boolean!) { setFlagEnabled(key: $k, enabled: $e) { version } }`,
    { k: key, e: enabled },
    admin.token,
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.setFlagEnabled.version as number;
};

describe('the internal route', () => {
  it('answers only a signed request', async () => {
    expect((await fetch(`${h.url}${FLAGS_INTERNAL_PATH}`)).status).toBe(401);
    const forged = signInternalRequest('not-the-secret-but-long-enough-to-pass', FLAGS_INTERNAL_PATH);
    expect((await fetch(`${h.url}${FLAGS_INTERNAL_PATH}`, { headers: forged })).status).toBe(401);
    const signed = signInternalRequest(h.config.internalSigningSecret, FLAGS_INTERNAL_PATH);
    const res = await fetch(`${h.url}${FLAGS_INTERNAL_PATH}`, { headers: signed });
    expect(res.status).toBe(200);
    const { flags } = (await res.json()) as { flags: { key: string }[] };
    // The flags the code ships with (the migration's).
    expect(flags.map((f) => f.key)).toEqual(expect.arrayContaining(['tutor', 'catalog-ranking']));
  });
});

describe('evaluation in a service', () => {
  it('loads the flags at start and evaluates them locally', async () => {
    const key = uniqueKey('loaded');
    await create({ key, rolloutPercent: 100 });
    const flags = await h.client('ai');
    const details = await flags.client.getBooleanDetails(key, false, { targetingKey: randomUUID() });
    expect(details).toMatchObject({ value: true, variant: 'on', reason: 'SPLIT' });
    expect(await flags.isOn('tutor', false, { targetingKey: randomUUID() })).toBe(true);
  });

  it('applies a kill switch from the change feed, and a switch back on', async () => {
    const key = uniqueKey('killed');
    await create({ key, rolloutPercent: 100 });
    const flags = await h.client('ai');
    await flags.subscribed;
    const subject = { targetingKey: randomUUID(), role: 'LEARNER' };
    expect(await flags.isOn(key, false, subject)).toBe(true);
    const version = await setEnabled(key, false);
    // No reload in between (the timer runs once a minute): the event alone carries the change.
    await eventually('the kill switch applied', async () => (await flags.isOn(key, true, subject)) === false);
    expect(flags.cache.get(key)?.version).toBe(version);
    expect(await flags.client.getBooleanDetails(key, true, subject)).toMatchObject({
      value: false,
      reason: 'DISABLED',
    });
    await setEnabled(key, true);
    await eventually('switched back on', () => flags.isOn(key, false, subject));
  });

  it('answers the code default with reason ERROR for an unknown flag', async () => {
    const flags = await h.client('course');
    const details = await flags.client.getStringDetails('no-such-flag', 'newest', { targetingKey: randomUUID() });
    expect(details).toMatchObject({ value: 'newest', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    // A variant flag asked as a boolean is a type mismatch: the default again.
    expect(await flags.client.getBooleanDetails('catalog-ranking', true, {})).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    });
  });

  it('answers the code defaults while the flags subgraph cannot be reached', async () => {
    const flags = await h.client('ai', { flagsUrl: `http://127.0.0.1:${await freePort()}` });
    expect(flags.cache.loaded).toBe(false);
    expect(await flags.client.getBooleanDetails('tutor', true, { targetingKey: randomUUID() })).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'PROVIDER_NOT_READY',
    });
  });

  it('forgets a deleted flag', async () => {
    const key = uniqueKey('forgotten');
    await create({ key, rolloutPercent: 100 });
    const flags = await h.client('course');
    await flags.subscribed;
    expect(await flags.isOn(key, false, { targetingKey: 'u' })).toBe(true);
    await h.gql(`mutation($k: String!) { deleteFlag(key: $k) { key } }`, { k: key }, admin.token);
    await eventually('the deletion applied', () => flags.cache.get(key) === undefined);
    expect(await flags.client.getBooleanDetails(key, false, { targetingKey: 'u' })).toMatchObject({
      value: false,
      errorCode: 'FLAG_NOT_FOUND',
    });
  });

  it('catches up, once NATS is back, with changes made while it was down', async () => {
    const key = uniqueKey('reconnect');
    await create({ key, rolloutPercent: 100 });
    const flags = await h.client('ai');
    await flags.subscribed;
    await h.nats.stop();
    // Committed while NATS is down: the event waits in the outbox, and the service missed nothing yet.
    const version = await setEnabled(key, false);
    expect(flags.cache.get(key)!.enabled).toBe(true);
    await h.nats.start();
    await eventually('the change caught up', () => flags.cache.get(key)?.version === version, { timeoutMs: 45_000 });
    expect(await flags.isOn(key, true, { targetingKey: 'u' })).toBe(false);
  });
});

describe('exposures', () => {
  it('counts the variants served per day and adds them up in flags', async () => {
    const key = uniqueKey('exposed');
    await create({
      key,
      variants: [
        { key: 'newest', weight: 50 },
        { key: 'popular', weight: 50 },
      ],
      defaultVariant: 'newest',
      rolloutPercent: 100,
    });
    const flags = await h.client('course');
    await flags.subscribed;
    const served = { newest: 0, popular: 0 } as Record<string, number>;
    for (let i = 0; i < 40; i++) served[await flags.variant(key, 'newest', { targetingKey: `learner-${i}` })]!++;
    // Unknown flags are not exposures.
    await flags.variant('no-such-flag', 'newest', { targetingKey: 'learner-0' });
    await flags.reportExposures();
    const today = new Date().toISOString().slice(0, 10);
    const expected = Object.entries(served)
      .filter(([, n]) => n > 0)
      .map(([variant, count]) => ({ flagKey: key, variant, day: today, count }));
    const query = `query($k: String!) { flagExposures(key: $k) { flagKey variant day count } }`;
    const counted = await eventually('exposures added up', async () => {
      const rows = (await h.gql(query, { k: key }, admin.token)).body.data?.flagExposures;
      return rows?.length === expected.length ? rows : null;
    });
    expect(counted).toEqual(expect.arrayContaining(expected));
  });
});
