import { ConfigError, readConfig } from '@coursegraph/service-kit';
import { describe, expect, it } from 'vitest';
import {
  costMicroUsd,
  DEFAULT_TIERS,
  DETERMINISTIC_PRICE,
  formatTierSpec,
  parseTierSpec,
  priceOf,
  tierSettings,
  tierTable,
  type TierPrice,
} from '../../src/domain/routing/tiers.js';

describe('tier configuration', () => {
  it('reads model:input:output, prices in dollars per million tokens', () => {
    expect(parseTierSpec('claude-3-5-haiku-latest:0.8:4')).toEqual({
      model: 'claude-3-5-haiku-latest',
      inputUsdPerMTok: 0.8,
      outputUsdPerMTok: 4,
    });
  });

  it('takes the prices from the right, so a model name may hold colons', () => {
    expect(parseTierSpec('anthropic.claude-haiku-4-5-20251001-v1:0:1:5')).toEqual({
      model: 'anthropic.claude-haiku-4-5-20251001-v1:0',
      inputUsdPerMTok: 1,
      outputUsdPerMTok: 5,
    });
  });

  it('reads back what formatTierSpec writes, for every default', () => {
    for (const price of Object.values(DEFAULT_TIERS)) expect(parseTierSpec(formatTierSpec(price))).toEqual(price);
  });

  it.each([
    ['claude-haiku-4-5', /expected model:inputUsdPerMTok:outputUsdPerMTok/],
    ['claude-haiku-4-5:1', /expected model:inputUsdPerMTok:outputUsdPerMTok/],
    [':1:5', /model name \(before the prices\) is empty/],
    ['my model:1:5', /model name "my model" may hold only/],
    ['claude-haiku-4-5:one:5', /input price "one" is not a plain decimal/],
    ['claude-haiku-4-5:1:-5', /output price "-5" is not a plain decimal/],
    ['claude-haiku-4-5:1:5e3', /output price "5e3" is not a plain decimal/],
    ['claude-haiku-4-5:0.0000001:5', /input price "0.0000001" .*at most 6 decimals/],
    ['claude-haiku-4-5:1:5000', /output price 5000 \$\/MTok is above 1000/],
    [`${'m'.repeat(201)}:1:5`, /longer than 200 characters/],
  ])('refuses %j with a specific error', (raw, message) => {
    expect(() => parseTierSpec(raw)).toThrow(message);
  });

  it('as settings: defaults when unset, every bad variable named at once', () => {
    expect(readConfig(tierSettings, {})).toEqual({
      aiTierCheap: DEFAULT_TIERS.CHEAP,
      aiTierMid: DEFAULT_TIERS.MID,
      aiTierTop: DEFAULT_TIERS.TOP,
    });
    let problems: string[] = [];
    try {
      readConfig(tierSettings, { AI_TIER_CHEAP: 'haiku:x:1', AI_TIER_TOP: 'opus' });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^AI_TIER_CHEAP="haiku:x:1": the input price "x"/),
      expect.stringMatching(/^AI_TIER_TOP="opus": expected model:input/),
    ]);
  });

  it('refuses a table where a higher tier is cheaper (two variables swapped)', () => {
    expect(() =>
      tierTable({ aiTierCheap: DEFAULT_TIERS.MID, aiTierMid: DEFAULT_TIERS.CHEAP, aiTierTop: DEFAULT_TIERS.TOP }),
    ).toThrow(/AI_TIER_MID \(claude-haiku-4-5:1:5\) is cheaper than AI_TIER_CHEAP/);
    const one: TierPrice = { model: 'claude-sonnet-4-5', inputUsdPerMTok: 3, outputUsdPerMTok: 15 };
    expect(tierTable({ aiTierCheap: one, aiTierMid: one, aiTierTop: one }).TOP).toEqual(one);
  });
});

describe('costMicroUsd', () => {
  const haiku = DEFAULT_TIERS.CHEAP;

  it('is tokens times the price: $/MTok is exactly µ$ per token', () => {
    expect(costMicroUsd(haiku, { inputTokens: 1_000, outputTokens: 200 })).toBe(1_000 * 1 + 200 * 5);
    expect(costMicroUsd(DEFAULT_TIERS.TOP, { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBe((5 + 25) * 1e6);
  });

  it('rounds a fraction of a micro-dollar up, never down', () => {
    const price = { model: 'm', inputUsdPerMTok: 0.8, outputUsdPerMTok: 4 };
    expect(costMicroUsd(price, { inputTokens: 3, outputTokens: 0 })).toBe(3); // 2.4 µ$
    expect(costMicroUsd(price, { inputTokens: 5, outputTokens: 0 })).toBe(4); // exactly 4 µ$
    const tiny = { model: 'm', inputUsdPerMTok: 0.000001, outputUsdPerMTok: 0 };
    expect(costMicroUsd(tiny, { inputTokens: 1, outputTokens: 0 })).toBe(1);
  });

  it('adds no float error: 0.07 $/MTok × 100 tokens is 7 µ$, not 8', () => {
    expect(Math.ceil(0.07 * 100)).toBe(8); // the trap a float product falls into
    const price = { model: 'm', inputUsdPerMTok: 0.07, outputUsdPerMTok: 1.1 };
    expect(costMicroUsd(price, { inputTokens: 100, outputTokens: 0 })).toBe(7);
    expect(costMicroUsd(price, { inputTokens: 100, outputTokens: 10 })).toBe(7 + 11);
  });

  it('is zero for no tokens, and for the deterministic provider whatever it used', () => {
    expect(costMicroUsd(haiku, { inputTokens: 0, outputTokens: 0 })).toBe(0);
    const price = priceOf(DEFAULT_TIERS, 'TOP', 'deterministic');
    expect(price).toBe(DETERMINISTIC_PRICE);
    expect(costMicroUsd(price, { inputTokens: 50_000, outputTokens: 8_000 })).toBe(0);
    expect(priceOf(DEFAULT_TIERS, 'TOP', 'anthropic')).toBe(DEFAULT_TIERS.TOP);
  });

  it.each([
    [{ inputTokens: -1, outputTokens: 0 }, /inputTokens must be a non-negative integer/],
    [{ inputTokens: 1, outputTokens: 2.5 }, /outputTokens must be a non-negative integer/],
    [{ inputTokens: Number.NaN, outputTokens: 0 }, /inputTokens must be a non-negative integer/],
  ])('refuses usage %j', (usage, message) => {
    expect(() => costMicroUsd(haiku, usage)).toThrow(message);
  });
});
