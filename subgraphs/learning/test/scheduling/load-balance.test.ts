import { describe, expect, it } from 'vitest';
import { get_fuzz_range } from 'ts-fsrs';
import {
  LOAD_BALANCE_MIN_INTERVAL_DAYS,
  balancedInterval,
  dayNumber,
  dayStart,
} from '../../src/domain/scheduling/load-balance.js';
import { createScheduler } from '../../src/domain/scheduling/scheduler.js';
import { inMemoryReviewPath, simulateLearner } from '../../src/domain/scheduling/simulator.js';
import { randomFromSeed } from '../../src/domain/assessment/seeded-random.js';

const flat = (value: number) => (first: number, last: number) => Array.from({ length: last - first + 1 }, () => value);

describe('day numbers', () => {
  it('start review days at 04:00 UTC by default', () => {
    expect(dayNumber(new Date('1970-01-01T04:00:00Z'))).toBe(0);
    expect(dayNumber(new Date('1970-01-01T03:59:59Z'))).toBe(-1);
    expect(dayNumber(new Date('1970-01-02T00:00:00Z'), 0)).toBe(1);
    expect(dayStart(dayNumber(new Date('2026-03-02T10:00:00Z')))).toEqual(new Date('2026-03-02T04:00:00Z'));
  });

  it('refuses a day start that is not a whole hour of the day', () => {
    expect(() => dayNumber(new Date(), 24)).toThrow(/whole hour from 0 to 23/);
  });
});

describe('balancedInterval', () => {
  const base = { elapsedDays: 20, maximumIntervalDays: 36500, today: 1000 };

  it('leaves intervals under 3 days alone', () => {
    expect(LOAD_BALANCE_MIN_INTERVAL_DAYS).toBe(3);
    expect(balancedInterval({ ...base, intervalDays: 2, load: flat(0), random: randomFromSeed('x') })).toBe(2);
  });

  it('picks the emptiest day of the fuzz range, and the target day when all are equal', () => {
    const { min_ivl, max_ivl } = get_fuzz_range(40, 20, 36500);
    const busyExcept = (quiet: number) => (first: number, last: number) =>
      Array.from({ length: last - first + 1 }, (_, i) => (first + i === quiet ? 3 : 50));
    expect(
      balancedInterval({ ...base, intervalDays: 40, load: busyExcept(1000 + min_ivl), random: randomFromSeed('x') }),
    ).toBe(min_ivl);
    expect(balancedInterval({ ...base, intervalDays: 40, load: flat(10), random: randomFromSeed('x') })).toBe(40);
    expect(max_ivl).toBeGreaterThan(40);
  });

  it('prefers a day nearer the target when loads differ by about 1%', () => {
    // Day 38 holds 99 cards, the rest 100: two days off the target cost 2.5%, more than one card.
    const load = (first: number, last: number) =>
      Array.from({ length: last - first + 1 }, (_, i) => (first + i === 1038 ? 99 : 100));
    expect(balancedInterval({ ...base, intervalDays: 40, load, random: randomFromSeed('x') })).toBe(40);
  });

  it('refuses a day load of the wrong length', () => {
    expect(() =>
      balancedInterval({ ...base, intervalDays: 40, load: () => [1, 2], random: randomFromSeed('x') }),
    ).toThrow(/non-negative counts/);
  });
});

describe('load over a simulated month (1000 cards, 20 new a day)', () => {
  // The month is days 21..50, while new cards still arrive, so the deck's load is near steady;
  // after the last new card the load only decays, and no fuzz range can flatten a trend.
  async function month(seed: string, loadBalance: boolean) {
    const start = new Date('2026-01-05T10:00:00Z');
    const path = inMemoryReviewPath(createScheduler(), { loadBalance });
    const { reviews, reviewsPerDay } = await simulateLearner({
      seed,
      cards: 1000,
      days: 50,
      newPerDay: 20,
      start,
      path,
    });
    const ratio = (perDay: number[]) => {
      const days = perDay.slice(20);
      return Math.max(...days) / (days.reduce((a, b) => a + b, 0) / days.length);
    };
    // Only the reviews of cards in review (what load balancing moves), for the report.
    const reviewOnly = Array.from({ length: 50 }, () => 0);
    for (const r of reviews)
      if (r.stateBefore === 'REVIEW') reviewOnly[dayNumber(r.reviewedAt) - dayNumber(start)]! += 1;
    return { all: ratio(reviewsPerDay), reviewOnly: ratio(reviewOnly) };
  }

  it('keeps the busiest day within 1.25× the average with load balancing, flatter than fuzz alone', async () => {
    const balanced = [];
    const fuzzOnly = [];
    for (const seed of ['a', 'b', 'c', 'd']) {
      balanced.push(await month(seed, true));
      fuzzOnly.push(await month(seed, false));
    }
    const show = (rs: { all: number; reviewOnly: number }[]) =>
      rs.map((r) => `${r.all.toFixed(3)} (${r.reviewOnly.toFixed(3)})`).join(', ');
    console.info(
      `busiest day / average, all reviews (review cards only): balanced ${show(balanced)}; fuzz only ${show(fuzzOnly)}`,
    );
    for (const ratio of balanced) expect(ratio.all).toBeLessThanOrEqual(1.25);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(balanced.map((r) => r.all))).toBeLessThan(mean(fuzzOnly.map((r) => r.all)));
    expect(mean(balanced.map((r) => r.reviewOnly))).toBeLessThan(mean(fuzzOnly.map((r) => r.reviewOnly)));
  }, 60_000);
});
