import { describe, expect, it } from 'vitest';
import { TIERS } from '../../src/providers/provider.js';
import { DEFAULT_TIERS, DETERMINISTIC_PRICE } from '../../src/domain/routing/tiers.js';
import { DEFAULT_USAGE_MIX, simulateMonth } from '../../src/domain/routing/usage-mix.js';

const USERS = 2_000;

describe('simulateMonth at the documented mix', () => {
  const month = simulateMonth({ users: USERS, seed: 16, tiers: DEFAULT_TIERS });

  it('routes near 80 / 15 / 5 across the tiers', () => {
    // The mix puts ~80 % of tutor turns (most of all requests) on CHEAP; why/how questions and
    // pasted work, struggling learners and CHEAP's validation failures (escalated) fill MID; stuck
    // learners, misconceptions and open-answer grading fill TOP. The bounds allow the seed's noise
    // (±1 point at 2,000 learners) plus a few points of slack around the architecture's target,
    // and catch a policy change that moves a whole row of the table.
    expect(month.shares.cheap_share).toBeGreaterThan(0.72);
    expect(month.shares.cheap_share).toBeLessThan(0.86);
    expect(month.shares.mid_share).toBeGreaterThan(0.11);
    expect(month.shares.mid_share).toBeLessThan(0.21);
    expect(month.shares.top_share).toBeGreaterThan(0.03);
    expect(month.shares.top_share).toBeLessThan(0.08);
    const { cheap_share, mid_share, top_share } = month.shares;
    expect(cheap_share + mid_share + top_share).toBeCloseTo(1, 9);
  });

  it('counts about the documented number of requests per learner, each priced', () => {
    const { tutorTurns, freeTextGradings, misconceptionExplanations, generationRequests } =
      DEFAULT_USAGE_MIX.perLearnerMonth;
    const perLearner = tutorTurns + freeTextGradings + misconceptionExplanations + generationRequests;
    const requested = Object.values(month.byTask).reduce((sum, n) => sum + n, 0);
    expect(requested / USERS).toBeGreaterThan(perLearner * 0.95);
    expect(requested / USERS).toBeLessThan(perLearner * 1.05);
    const paid = TIERS.reduce((sum, tier) => sum + month.requests[tier], 0);
    expect(paid).toBe(requested + month.escalations);
    for (const tier of TIERS) {
      expect(month.tokens[tier].inputTokens).toBeGreaterThan(0);
      expect(month.microUsd[tier]).toBeGreaterThan(0);
    }
    const totalMicroUsd = TIERS.reduce((sum, tier) => sum + month.microUsd[tier], 0);
    expect(month.usd_per_user_month).toBeCloseTo(totalMicroUsd / 1e6 / USERS, 12);
  });

  it('costs more than twice less than sending everything to TOP, and more than everything on CHEAP', () => {
    const allTop = simulateMonth({
      users: USERS,
      seed: 16,
      tiers: DEFAULT_TIERS,
      policy: () => ({ tier: 'TOP', reasons: [] }),
    });
    const allCheap = simulateMonth({
      users: USERS,
      seed: 16,
      tiers: DEFAULT_TIERS,
      policy: () => ({ tier: 'CHEAP', reasons: [] }),
    });
    expect(month.usd_per_user_month * 2).toBeLessThan(allTop.usd_per_user_month);
    expect(month.usd_per_user_month).toBeGreaterThan(allCheap.usd_per_user_month);
  });

  it('is the same month for the same seed, and another for another seed', () => {
    expect(simulateMonth({ users: USERS, seed: 16, tiers: DEFAULT_TIERS })).toEqual(month);
    const other = simulateMonth({ users: USERS, seed: 17, tiers: DEFAULT_TIERS });
    expect(other.requests).not.toEqual(month.requests);
    expect(Math.abs(other.shares.cheap_share - month.shares.cheap_share)).toBeLessThan(0.02);
  });
});

describe('simulateMonth: escalation and prices', () => {
  it('escalates nothing when every output validates', () => {
    const mix = { ...DEFAULT_USAGE_MIX, validationFailureRate: { CHEAP: 0, MID: 0, TOP: 0 } };
    const month = simulateMonth({ users: 300, seed: 1, tiers: DEFAULT_TIERS, mix });
    expect(month.escalations).toBe(0);
    expect(month.deterministicFallbacks).toBe(0);
  });

  it('repeats every failed call one tier up, and hands TOP failures to the deterministic provider', () => {
    const mix = { ...DEFAULT_USAGE_MIX, validationFailureRate: { CHEAP: 1, MID: 1, TOP: 1 } };
    const month = simulateMonth({ users: 300, seed: 1, tiers: DEFAULT_TIERS, mix });
    const requested = Object.values(month.byTask).reduce((sum, n) => sum + n, 0);
    // Everything climbs to TOP and fails there: each request reaches TOP exactly once.
    expect(month.requests.TOP).toBe(requested);
    expect(month.deterministicFallbacks).toBe(requested);
    expect(month.requests.MID).toBeGreaterThanOrEqual(month.requests.CHEAP);
    expect(month.escalations).toBe(month.requests.CHEAP + month.requests.MID);
  });

  it('costs nothing when every tier is free (the deterministic provider)', () => {
    const free = { CHEAP: DETERMINISTIC_PRICE, MID: DETERMINISTIC_PRICE, TOP: DETERMINISTIC_PRICE };
    expect(simulateMonth({ users: 100, seed: 1, tiers: free }).usd_per_user_month).toBe(0);
  });

  it('refuses a non-positive or fractional number of users', () => {
    expect(() => simulateMonth({ users: 0, seed: 1, tiers: DEFAULT_TIERS })).toThrow(
      /users must be a positive integer/,
    );
    expect(() => simulateMonth({ users: 2.5, seed: 1, tiers: DEFAULT_TIERS })).toThrow(
      /users must be a positive integer/,
    );
  });
});
