import { randomUUID } from 'node:crypto';
import { createRedis, type Redis } from '@coursegraph/service-kit';
import { freePort } from '@coursegraph/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BudgetUnavailableError,
  createBudgets,
  DAY_COUNTER_TTL_SECONDS,
  type BudgetOptions,
} from '../../src/domain/routing/budget.js';

// The real Redis of the test services (database 1); every key of this run under its own prefix.
const prefix = `test:ai-budget:${randomUUID()}`;
const silent = { warn: () => {} };
let redis: Redis;

beforeAll(() => {
  redis = createRedis(process.env.REDIS_URL!, { commandTimeoutMs: 2_000, logger: silent });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

let scenario = 0;
/** Budgets under a fresh prefix, so each test starts from nothing. */
function budgets(limits: Partial<BudgetOptions> = {}) {
  return createBudgets(redis, {
    perUserDailyMicroUsd: 1_000,
    globalDailyMicroUsd: 1_000_000,
    keyPrefix: `${prefix}:${++scenario}`,
    ...limits,
  });
}

const now = new Date('2026-12-07T12:00:00Z');
const callId = () => randomUUID();

describe('budgets in Redis', () => {
  it('reserves within the limits and counts the reservation for the user and globally', async () => {
    const b = budgets();
    const result = await b.reserve({ callId: 'c1', userId: 'u1', estimateMicroUsd: 300, now });
    expect(result).toEqual({
      ok: true,
      reservation: { callId: 'c1', userId: 'u1', day: '2026-12-07', reservedMicroUsd: 300 },
      replayOf: null,
    });
    await b.reserve({ callId: 'c2', userId: 'u2', estimateMicroUsd: 200, now });
    expect(await b.spent('u1', now)).toEqual({
      userMicroUsd: 300,
      globalMicroUsd: 500,
      userLimitMicroUsd: 1_000,
      globalLimitMicroUsd: 1_000_000,
    });
  });

  it("refuses past the user's limit, saying what was spent, and counts nothing", async () => {
    const b = budgets();
    await b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 900, now });
    const refused = await b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 101, now });
    expect(refused).toEqual({ ok: false, scope: 'user', spentMicroUsd: 900, limitMicroUsd: 1_000 });
    expect((await b.spent('u1', now)).globalMicroUsd).toBe(900);
    // Exactly up to the limit is allowed.
    expect((await b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 100, now })).ok).toBe(true);
  });

  it('refuses past the global limit, whoever asks', async () => {
    const b = budgets({ perUserDailyMicroUsd: 1_000, globalDailyMicroUsd: 1_500 });
    await b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 1_000, now });
    const refused = await b.reserve({ callId: callId(), userId: 'u2', estimateMicroUsd: 600, now });
    expect(refused).toEqual({ ok: false, scope: 'global', spentMicroUsd: 1_000, limitMicroUsd: 1_500 });
    expect((await b.spent('u2', now)).userMicroUsd).toBe(0);
  });

  it('never overspends: 20 concurrent reserves near the user limit', async () => {
    const b = budgets();
    await b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 550, now });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 100, now })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(4);
    expect(results.filter((r) => !r.ok && r.scope === 'user')).toHaveLength(16);
    expect((await b.spent('u1', now)).userMicroUsd).toBe(950);
  });

  it('never overspends: 20 users at once near the global limit', async () => {
    const b = budgets({ globalDailyMicroUsd: 1_000 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        b.reserve({ callId: callId(), userId: `user-${i}`, estimateMicroUsd: 150, now }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(6);
    expect((await b.spent('user-0', now)).globalMicroUsd).toBe(900);
  });

  it('charges a call id once: a retry is a no-op that says so, even 20 at once', async () => {
    const b = budgets();
    const first = await b.reserve({ callId: 'retried', userId: 'u1', estimateMicroUsd: 400, now });
    const again = await b.reserve({ callId: 'retried', userId: 'u1', estimateMicroUsd: 999, now });
    expect(first.ok && first.replayOf).toBeNull();
    expect(again).toEqual({
      ok: true,
      reservation: { callId: 'retried', userId: 'u1', day: '2026-12-07', reservedMicroUsd: 400 },
      replayOf: 'reserved',
    });
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => b.reserve({ callId: 'burst', userId: 'u1', estimateMicroUsd: 100, now })),
    );
    expect(burst.filter((r) => r.ok && r.replayOf === null)).toHaveLength(1);
    expect(burst.filter((r) => r.ok && r.replayOf === 'reserved')).toHaveLength(19);
    expect((await b.spent('u1', now)).userMicroUsd).toBe(500);
    // Another user's call with the same id is another call.
    expect(await b.reserve({ callId: 'retried', userId: 'u2', estimateMicroUsd: 50, now })).toMatchObject({
      ok: true,
      replayOf: null,
    });
  });

  it('settles at the actual cost, down or up, once', async () => {
    const b = budgets();
    const down = await b.reserve({ callId: 'down', userId: 'u1', estimateMicroUsd: 500, now });
    const up = await b.reserve({ callId: 'up', userId: 'u1', estimateMicroUsd: 100, now });
    if (!down.ok || !up.ok) throw new Error('reservations expected');
    expect(await b.settle(down.reservation, 320)).toBe('applied');
    expect(await b.settle(up.reservation, 150)).toBe('applied');
    expect(await b.spent('u1', now)).toMatchObject({ userMicroUsd: 470, globalMicroUsd: 470 });
    expect(await b.settle(down.reservation, 999)).toBe('already-settled');
    expect(await b.release(down.reservation)).toBe('already-settled');
    expect((await b.spent('u1', now)).userMicroUsd).toBe(470);
    // A retry after the settle is told so, and charged nothing.
    expect(await b.reserve({ callId: 'down', userId: 'u1', estimateMicroUsd: 500, now })).toMatchObject({
      ok: true,
      replayOf: 'settled',
      reservation: { reservedMicroUsd: 320 },
    });
    expect((await b.spent('u1', now)).userMicroUsd).toBe(470);
  });

  it('releases a failed call: nothing charged, and the call id may be reserved again', async () => {
    const b = budgets();
    const result = await b.reserve({ callId: 'failed', userId: 'u1', estimateMicroUsd: 600, now });
    if (!result.ok) throw new Error('reservation expected');
    expect(await b.release(result.reservation)).toBe('applied');
    expect(await b.spent('u1', now)).toMatchObject({ userMicroUsd: 0, globalMicroUsd: 0 });
    expect(await b.release(result.reservation)).toBe('already-released');
    expect(await b.settle(result.reservation, 10)).toBe('already-released');
    const retry = await b.reserve({ callId: 'failed', userId: 'u1', estimateMicroUsd: 600, now });
    expect(retry).toMatchObject({ ok: true, replayOf: null });
    expect((await b.spent('u1', now)).userMicroUsd).toBe(600);
  });

  it('changes nothing for a reservation it never made', async () => {
    const b = budgets();
    const made = { callId: 'never', userId: 'u1', day: '2026-12-07', reservedMicroUsd: 500 };
    expect(await b.settle(made, 100)).toBe('unknown');
    expect(await b.release(made)).toBe('unknown');
    expect((await b.spent('u1', now)).globalMicroUsd).toBe(0);
  });

  it('starts a new UTC day at midnight; a settle after midnight adjusts the day it reserved on', async () => {
    const b = budgets();
    const lastMoment = new Date('2026-12-07T23:59:59.999Z');
    const nextDay = new Date('2026-12-08T00:00:00.000Z');
    const late = await b.reserve({ callId: 'late', userId: 'u1', estimateMicroUsd: 1_000, now: lastMoment });
    if (!late.ok) throw new Error('reservation expected');
    expect(await b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 1, now: lastMoment })).toMatchObject({
      ok: false,
      scope: 'user',
    });
    expect(await b.reserve({ callId: callId(), userId: 'u1', estimateMicroUsd: 1_000, now: nextDay })).toMatchObject({
      ok: true,
    });
    expect(await b.settle(late.reservation, 400)).toBe('applied');
    expect((await b.spent('u1', lastMoment)).userMicroUsd).toBe(400);
    expect((await b.spent('u1', nextDay)).userMicroUsd).toBe(1_000);
  });

  it('lets day counters expire 48 h after their last write, call markers sooner', async () => {
    const keyPrefix = `${prefix}:ttl`;
    const b = createBudgets(redis, {
      perUserDailyMicroUsd: 1_000,
      globalDailyMicroUsd: 10_000,
      keyPrefix,
      callMarkerTtlSeconds: 600,
    });
    await b.reserve({ callId: 'c', userId: 'u1', estimateMicroUsd: 10, now });
    for (const key of [`${keyPrefix}:user:u1:2026-12-07`, `${keyPrefix}:global:2026-12-07`]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(DAY_COUNTER_TTL_SECONDS - 60);
      expect(ttl).toBeLessThanOrEqual(DAY_COUNTER_TTL_SECONDS);
    }
    const markerTtl = await redis.ttl(`${keyPrefix}:call:u1:c`);
    expect(markerTtl).toBeGreaterThan(0);
    expect(markerTtl).toBeLessThanOrEqual(600);
  });

  it.each([
    [{ callId: '', userId: 'u1', estimateMicroUsd: 1, now }, /callId must be 1-200 characters/],
    [{ callId: 'a b', userId: 'u1', estimateMicroUsd: 1, now }, /callId must be 1-200 characters without spaces/],
    [{ callId: 'c', userId: 'u:1', estimateMicroUsd: 1, now }, /userId must be .* or ":"/],
    [{ callId: 'c', userId: 'u1', estimateMicroUsd: -5, now }, /estimateMicroUsd must be a non-negative integer/],
    [{ callId: 'c', userId: 'u1', estimateMicroUsd: 1.5, now }, /estimateMicroUsd must be a non-negative integer/],
    [{ callId: 'c', userId: 'u1', estimateMicroUsd: 1, now: new Date('nope') }, /now must be a valid Date/],
  ])('refuses a malformed request and counts nothing: %j', async (request, message) => {
    const b = budgets();
    await expect(b.reserve(request)).rejects.toThrow(message);
    expect((await b.spent('u1', now)).globalMicroUsd).toBe(0);
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => budgets({ perUserDailyMicroUsd: 0 })).toThrow(/perUserDailyMicroUsd must be a positive integer/);
    expect(() => budgets({ globalDailyMicroUsd: 0.5 })).toThrow(/globalDailyMicroUsd must be a positive integer/);
  });
});

describe('budgets with Redis unreachable', () => {
  it('fails closed for money: no reservation, settles leave the estimate counted, reads throw', async () => {
    const down = createRedis(`redis://127.0.0.1:${await freePort()}`, { commandTimeoutMs: 200, logger: silent });
    const warnings: string[] = [];
    try {
      const b = createBudgets(down, {
        perUserDailyMicroUsd: 1_000,
        globalDailyMicroUsd: 10_000,
        logger: {
          warn: (_fields: unknown, message?: string) => {
            warnings.push(message ?? '');
          },
        },
      });
      const result = await b.reserve({ callId: 'c', userId: 'u1', estimateMicroUsd: 10, now });
      expect(result).toMatchObject({ ok: false, scope: 'unavailable' });
      const reservation = { callId: 'c', userId: 'u1', day: '2026-12-07', reservedMicroUsd: 10 };
      expect(await b.settle(reservation, 5)).toBe('unavailable');
      expect(await b.release(reservation)).toBe('unavailable');
      await expect(b.spent('u1', now)).rejects.toBeInstanceOf(BudgetUnavailableError);
      expect(warnings).toEqual([
        expect.stringMatching(/no paid call, deterministic provider/),
        expect.stringMatching(/could not settle/),
        expect.stringMatching(/could not release/),
      ]);
    } finally {
      down.disconnect();
    }
  });
});
