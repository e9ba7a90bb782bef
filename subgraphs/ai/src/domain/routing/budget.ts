/**
 * Daily spending budgets in Redis, per learner and for the whole platform, in micro-dollars (µ$).
 *
 * A paid call first RESERVES its estimated cost (take the largest it can be: the prompt's tokens
 * and `maxTokens` of output), then SETTLES at what it really cost, or RELEASES the reservation when
 * the call failed. The reservation is checked against both limits and counted on both days in one
 * Lua script, so twenty concurrent calls near a limit cannot all slip past it between a check and
 * a count. Days are UTC days; their counters expire 48 h after their last write (a settle can
 * arrive just after midnight: it adjusts the day it reserved on).
 *
 * Idempotent by call id: the first reserve of a call id leaves a short-lived marker (per user, so
 * one user's ids never collide with another's). While it is there, reserving the same call id again
 * charges nothing and says so (`replayOf`); the caller must then not call the provider a second
 * time. Settling or releasing twice changes nothing. A released call may be reserved again: nothing
 * was charged for it.
 *
 * Redis down (ADR 0010: each use chooses): FAIL CLOSED for money, open for service. `reserve`
 * answers `{ ok: false, scope: 'unavailable' }`, so no paid call is made without a counted
 * reservation, and the caller answers with the deterministic provider (free) and says so; the
 * learner still gets a reply. Failing open would let spend run unchecked for as long as Redis is
 * out. A settle or release that cannot reach Redis leaves the reservation counted at its estimate,
 * which over-counts: the safe side.
 */
import type { Logger, Redis } from '@coursegraph/service-kit';

export interface BudgetOptions {
  /** What one learner may spend in a UTC day. */
  perUserDailyMicroUsd: number;
  /** What the whole platform may spend in a UTC day. */
  globalDailyMicroUsd: number;
  /** Prefix of every key. Default `ai:budget`. */
  keyPrefix?: string;
  /** How long a call id is remembered (a retry of it within this time is not charged again). Default 1 h. */
  callMarkerTtlSeconds?: number;
  logger?: Pick<Logger, 'warn'>;
}

export interface Reservation {
  callId: string;
  userId: string;
  /** The UTC day (YYYY-MM-DD) it is counted on. */
  day: string;
  reservedMicroUsd: number;
}

export type ReserveResult =
  | {
      ok: true;
      reservation: Reservation;
      /** null: reserved now. Otherwise this call id was seen already, in this state; nothing was charged. */
      replayOf: null | 'reserved' | 'settled';
    }
  | { ok: false; scope: 'user' | 'global'; spentMicroUsd: number; limitMicroUsd: number }
  /** Redis did not answer: no paid call (fail closed); answer with the deterministic provider. */
  | { ok: false; scope: 'unavailable'; error: string };

export type AdjustOutcome =
  /** The counters moved by the difference. */
  | 'applied'
  /** The call was settled or released already; nothing changed. */
  | 'already-settled'
  | 'already-released'
  /** No marker: never reserved, or reserved longer ago than callMarkerTtlSeconds. Nothing changed. */
  | 'unknown'
  /** Redis did not answer: the reservation stays counted at its estimate. */
  | 'unavailable';

export interface Spent {
  userMicroUsd: number;
  globalMicroUsd: number;
  userLimitMicroUsd: number;
  globalLimitMicroUsd: number;
}

export interface Budgets {
  reserve(request: { callId: string; userId: string; estimateMicroUsd: number; now: Date }): Promise<ReserveResult>;
  settle(reservation: Reservation, actualMicroUsd: number): Promise<AdjustOutcome>;
  release(reservation: Reservation): Promise<AdjustOutcome>;
  /** What was spent (reserved or settled) on `now`'s UTC day. Throws BudgetUnavailableError when Redis does not answer. */
  spent(userId: string, now: Date): Promise<Spent>;
}

/** Redis did not answer a read of the budgets. */
export class BudgetUnavailableError extends Error {
  override name = 'BudgetUnavailableError';
}

/** Day counters live this long after their last write: the day itself plus a day of slack. */
export const DAY_COUNTER_TTL_SECONDS = 48 * 3600;
const DEFAULT_CALL_MARKER_TTL_SECONDS = 3600;
const MAX_ID_LENGTH = 200;

// A call marker holds `<state>|<day>|<µ$>`, state being reserved, settled or released.

// KEYS: user's day, global day, call marker. ARGV: estimate, user limit, global limit, day TTL, marker TTL, day.
// Returns {1, spent by user, spent globally} when reserved, {0, scope, spent, limit} when refused,
// {2, marker} when the call id is already reserved or settled.
const RESERVE = `
local marker = redis.call('GET', KEYS[3])
if marker and string.sub(marker, 1, 9) ~= 'released|' then
  return { 2, marker }
end
local estimate = tonumber(ARGV[1])
local user = tonumber(redis.call('GET', KEYS[1]) or '0')
if user + estimate > tonumber(ARGV[2]) then return { 0, 'user', user, tonumber(ARGV[2]) } end
local global = tonumber(redis.call('GET', KEYS[2]) or '0')
if global + estimate > tonumber(ARGV[3]) then return { 0, 'global', global, tonumber(ARGV[3]) } end
user = redis.call('INCRBY', KEYS[1], estimate)
redis.call('EXPIRE', KEYS[1], ARGV[4])
global = redis.call('INCRBY', KEYS[2], estimate)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SET', KEYS[3], 'reserved|' .. ARGV[6] .. '|' .. ARGV[1], 'EX', ARGV[5])
return { 1, user, global }
`;

// KEYS: user's day, global day, call marker. ARGV: final µ$, final state (settled | released), day TTL.
// Moves both counters by (final − reserved) when the marker says reserved; never below zero.
// Returns {1, delta} when applied, {0, state} when already final, {-1} when there is no marker.
const ADJUST = `
local marker = redis.call('GET', KEYS[3])
if not marker then return { -1 } end
local state, day, amount = string.match(marker, '^(%a+)|([^|]*)|(%d+)$')
if state ~= 'reserved' then return { 0, state or 'unknown' } end
local delta = tonumber(ARGV[1]) - tonumber(amount)
for i = 1, 2 do
  if redis.call('INCRBY', KEYS[i], delta) < 0 then redis.call('SET', KEYS[i], 0) end
  redis.call('EXPIRE', KEYS[i], ARGV[3])
end
redis.call('SET', KEYS[3], ARGV[2] .. '|' .. day .. '|' .. ARGV[1], 'KEEPTTL')
return { 1, delta }
`;

/** The UTC day of `now`, as the counters are keyed. */
export function utcDay(now: Date): string {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new RangeError('now must be a valid Date');
  return now.toISOString().slice(0, 10);
}

// A user id holds no ':' so that `call:<userId>:<callId>` names one pair only; neither holds '|' (the marker's separator).
function checkId(value: string, name: 'userId' | 'callId'): void {
  const forbidden = name === 'userId' ? /[\s|:]/ : /[\s|]/;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH || forbidden.test(value))
    throw new RangeError(
      `${name} must be 1-${MAX_ID_LENGTH} characters without spaces or "|"${name === 'userId' ? ' or ":"' : ''}`,
    );
}

function checkMicroUsd(value: number, name: string, allowZero = true): void {
  if (!Number.isSafeInteger(value) || value < 0 || (!allowZero && value === 0))
    throw new RangeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer of micro-dollars, got ${value}`,
    );
}

export function createBudgets(redis: Redis, options: BudgetOptions): Budgets {
  checkMicroUsd(options.perUserDailyMicroUsd, 'perUserDailyMicroUsd', false);
  checkMicroUsd(options.globalDailyMicroUsd, 'globalDailyMicroUsd', false);
  const prefix = options.keyPrefix ?? 'ai:budget';
  const markerTtl = options.callMarkerTtlSeconds ?? DEFAULT_CALL_MARKER_TTL_SECONDS;
  if (!Number.isSafeInteger(markerTtl) || markerTtl <= 0)
    throw new RangeError('callMarkerTtlSeconds must be a positive integer');

  const userKey = (userId: string, day: string) => `${prefix}:user:${userId}:${day}`;
  const globalKey = (day: string) => `${prefix}:global:${day}`;
  const markerKey = (userId: string, callId: string) => `${prefix}:call:${userId}:${callId}`;
  const keysOf = (r: Pick<Reservation, 'userId' | 'day' | 'callId'>) => [
    userKey(r.userId, r.day),
    globalKey(r.day),
    markerKey(r.userId, r.callId),
  ];

  async function adjust(
    reservation: Reservation,
    finalMicroUsd: number,
    state: 'settled' | 'released',
  ): Promise<AdjustOutcome> {
    checkId(reservation.userId, 'userId');
    checkId(reservation.callId, 'callId');
    let outcome: [number, string?];
    try {
      outcome = (await redis.eval(
        ADJUST,
        3,
        ...keysOf(reservation),
        String(finalMicroUsd),
        state,
        String(DAY_COUNTER_TTL_SECONDS),
      )) as [number, string?];
    } catch (err) {
      options.logger?.warn(
        { err: (err as Error).message, callId: reservation.callId },
        `AI budget: could not ${state === 'settled' ? 'settle' : 'release'} a reservation (Redis); it stays counted at its estimate`,
      );
      return 'unavailable';
    }
    if (outcome[0] === -1) return 'unknown';
    if (outcome[0] === 0) return outcome[1] === 'released' ? 'already-released' : 'already-settled';
    return 'applied';
  }

  return {
    async reserve({ callId, userId, estimateMicroUsd, now }) {
      checkId(callId, 'callId');
      checkId(userId, 'userId');
      checkMicroUsd(estimateMicroUsd, 'estimateMicroUsd');
      const day = utcDay(now);
      let outcome: (number | string)[];
      try {
        outcome = (await redis.eval(
          RESERVE,
          3,
          ...keysOf({ userId, day, callId }),
          String(estimateMicroUsd),
          String(options.perUserDailyMicroUsd),
          String(options.globalDailyMicroUsd),
          String(DAY_COUNTER_TTL_SECONDS),
          String(markerTtl),
          day,
        )) as (number | string)[];
      } catch (err) {
        const error = (err as Error).message;
        options.logger?.warn(
          { err: error, callId },
          'AI budget unavailable (Redis): no paid call, deterministic provider',
        );
        return { ok: false, scope: 'unavailable', error };
      }
      if (outcome[0] === 0)
        return {
          ok: false,
          scope: outcome[1] as 'user' | 'global',
          spentMicroUsd: Number(outcome[2]),
          limitMicroUsd: Number(outcome[3]),
        };
      if (outcome[0] === 2) {
        // The marker's day and amount, not this request's: a retry after midnight settles the first day.
        const [state, markerDay, amount] = String(outcome[1]).split('|');
        return {
          ok: true,
          reservation: { callId, userId, day: markerDay!, reservedMicroUsd: Number(amount) },
          replayOf: state === 'settled' ? 'settled' : 'reserved',
        };
      }
      return { ok: true, reservation: { callId, userId, day, reservedMicroUsd: estimateMicroUsd }, replayOf: null };
    },

    settle(reservation, actualMicroUsd) {
      checkMicroUsd(actualMicroUsd, 'actualMicroUsd');
      return adjust(reservation, actualMicroUsd, 'settled');
    },

    release(reservation) {
      return adjust(reservation, 0, 'released');
    },

    async spent(userId, now) {
      checkId(userId, 'userId');
      const day = utcDay(now);
      let values: (string | null)[];
      try {
        values = await redis.mget(userKey(userId, day), globalKey(day));
      } catch (err) {
        throw new BudgetUnavailableError(`AI budgets are unavailable: ${(err as Error).message}`);
      }
      return {
        userMicroUsd: Number(values[0] ?? 0),
        globalMicroUsd: Number(values[1] ?? 0),
        userLimitMicroUsd: options.perUserDailyMicroUsd,
        globalLimitMicroUsd: options.globalDailyMicroUsd,
      };
    },
  };
}
