/**
 * The three model tiers: which model each one calls and what its tokens cost, and the cost of one
 * call in integer micro-dollars (µ$, millionths of a US dollar), the unit budgets and call records use.
 *
 * The configuration form, one variable per tier:
 *
 *   AI_TIER_CHEAP=claude-haiku-4-5:1:5      model:inputUsdPerMTok:outputUsdPerMTok
 *
 * The two prices are the LAST two colon-separated fields, so a model name may itself hold colons
 * (Bedrock's ids do: `anthropic.claude-haiku-4-5-20251001-v1:0:1:5`).
 */
import type { Setting } from '@coursegraph/service-kit';
import { TIERS, type Tier, type Usage } from '../../providers/provider.js';

export interface TierPrice {
  /** The model name sent to the provider. */
  model: string;
  /** US dollars per million input tokens (the provider's list price). */
  inputUsdPerMTok: number;
  /** US dollars per million output tokens. */
  outputUsdPerMTok: number;
}

export type TierTable = Readonly<Record<Tier, TierPrice>>;

/**
 * Anthropic's list prices of the models each tier starts on, in $/MTok input / output (standard
 * API, no prompt caching, no batch discount): Claude Haiku 4.5 $1 / $5, Claude Sonnet 4.6 $3 / $15,
 * Claude Opus 4.6 $5 / $25 (Opus 4.5, at the same price, is deprecated in the SDK). Newer models and
 * prices are a configuration change (AI_TIER_*), not a code change.
 */
export const DEFAULT_TIERS: TierTable = Object.freeze({
  CHEAP: { model: 'claude-haiku-4-5', inputUsdPerMTok: 1, outputUsdPerMTok: 5 },
  MID: { model: 'claude-sonnet-4-6', inputUsdPerMTok: 3, outputUsdPerMTok: 15 },
  TOP: { model: 'claude-opus-4-6', inputUsdPerMTok: 5, outputUsdPerMTok: 25 },
});

/** What a call answered by the embedded deterministic provider costs: nothing. */
export const DETERMINISTIC_PRICE: TierPrice = Object.freeze({
  model: 'deterministic',
  inputUsdPerMTok: 0,
  outputUsdPerMTok: 0,
});

/** Above this a price is surely a typo (µ$ per token, or cents, instead of $/MTok). */
const MAX_USD_PER_MTOK = 1_000;
/** Prices are exact to a millionth of a dollar per MTok, so costs are computed in integers. */
const PRICE_DECIMALS = 6;
const PRICE_PATTERN = /^\d+(\.\d{1,6})?$/;
const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/;
const MAX_MODEL_LENGTH = 200;

function parsePrice(raw: string, which: 'input' | 'output'): number {
  if (!PRICE_PATTERN.test(raw))
    throw new Error(
      `the ${which} price "${raw}" is not a plain decimal number of dollars per million tokens (e.g. 0.8 or 15), with at most ${PRICE_DECIMALS} decimals`,
    );
  const usd = Number(raw);
  if (usd > MAX_USD_PER_MTOK)
    throw new Error(
      `the ${which} price ${raw} $/MTok is above ${MAX_USD_PER_MTOK} $/MTok; prices are in dollars per million tokens`,
    );
  return usd;
}

/** Parses `model:inputUsdPerMTok:outputUsdPerMTok`, or throws an Error saying which part is wrong. */
export function parseTierSpec(raw: string): TierPrice {
  const parts = raw.trim().split(':');
  if (parts.length < 3) throw new Error('expected model:inputUsdPerMTok:outputUsdPerMTok, e.g. claude-haiku-4-5:1:5');
  const output = parts.pop()!;
  const input = parts.pop()!;
  const model = parts.join(':');
  if (model === '') throw new Error('the model name (before the prices) is empty');
  if (model.length > MAX_MODEL_LENGTH) throw new Error(`the model name is longer than ${MAX_MODEL_LENGTH} characters`);
  if (!MODEL_PATTERN.test(model))
    throw new Error(
      `the model name "${model}" may hold only letters, digits and . _ : @ / - (and starts with a letter or digit)`,
    );
  return { model, inputUsdPerMTok: parsePrice(input, 'input'), outputUsdPerMTok: parsePrice(output, 'output') };
}

/** The configuration form of a tier, as parseTierSpec reads it. */
export const formatTierSpec = (price: TierPrice): string =>
  `${price.model}:${price.inputUsdPerMTok}:${price.outputUsdPerMTok}`;

const tierSetting = (tier: Tier, role: string): Setting<TierPrice> => ({
  env: `AI_TIER_${tier}`,
  default: DEFAULT_TIERS[tier],
  parse: parseTierSpec,
  formatDefault: formatTierSpec,
  doc: `${role}: model:inputUsdPerMTok:outputUsdPerMTok, at the model's list prices`,
});

/** The tiers' settings, to spread into the subgraph's config spec; then build the table with `tierTable`. */
export const tierSettings = {
  aiTierCheap: tierSetting('CHEAP', 'The cheap tier (quiz and flashcard generation, easy tutor turns)'),
  aiTierMid: tierSetting('MID', 'The middle tier (the Socratic tutor, long or dense lessons)'),
  aiTierTop: tierSetting('TOP', 'The top tier (free-text grading, misconceptions, stuck learners)'),
};

/**
 * The tier table from the three settings. Throws when a tier is cheaper than the one below it:
 * routing sends hard work upwards to pay for quality, so an inverted table (usually two variables
 * swapped) would make every escalation a downgrade. Equal prices (one model everywhere) are fine.
 */
export function tierTable(prices: { aiTierCheap: TierPrice; aiTierMid: TierPrice; aiTierTop: TierPrice }): TierTable {
  const table: TierTable = { CHEAP: prices.aiTierCheap, MID: prices.aiTierMid, TOP: prices.aiTierTop };
  for (let i = 1; i < TIERS.length; i++) {
    const lower = TIERS[i - 1]!;
    const upper = TIERS[i]!;
    for (const field of ['inputUsdPerMTok', 'outputUsdPerMTok'] as const) {
      if (table[upper][field] < table[lower][field])
        throw new Error(
          `AI_TIER_${upper} (${formatTierSpec(table[upper])}) is cheaper than AI_TIER_${lower} (${formatTierSpec(table[lower])}) in ${field}; each tier must cost at least as much as the one below it`,
        );
    }
  }
  return Object.freeze(table);
}

/** The price a call is charged at: its tier's, or nothing when the deterministic provider answered. */
export const priceOf = (tiers: TierTable, tier: Tier, provider: 'anthropic' | 'deterministic'): TierPrice =>
  provider === 'deterministic' ? DETERMINISTIC_PRICE : tiers[tier];

const MICRO = 10 ** PRICE_DECIMALS;

/**
 * What a call cost, in whole micro-dollars, ROUNDED UP: a price in $/MTok is exactly µ$ per token,
 * so the cost is inputTokens × input price + outputTokens × output price µ$, computed in integers
 * (prices scaled to millionths) so no float error creeps in. Rounding up means a recorded cost is
 * never below what the provider bills, so budgets (a ceiling) and the cost report err on the safe
 * side, by less than 1 µ$ a call ($1 per million calls).
 */
export function costMicroUsd(price: TierPrice, usage: Usage): number {
  for (const field of ['inputTokens', 'outputTokens'] as const) {
    const n = usage[field];
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field} must be a non-negative integer, got ${n}`);
  }
  // Prices come from parseTierSpec (at most 6 decimals): scaled by 10^6 they are integers.
  const scaledTotal =
    usage.inputTokens * Math.round(price.inputUsdPerMTok * MICRO) +
    usage.outputTokens * Math.round(price.outputUsdPerMTok * MICRO);
  if (!Number.isSafeInteger(scaledTotal))
    throw new RangeError('the cost of this call is beyond exact integer arithmetic');
  // Integer ceiling of scaledTotal / 10^6: the float quotient may land a hair off, the remainder says which way.
  const whole = Math.trunc(scaledTotal / MICRO);
  return scaledTotal - whole * MICRO > 0 ? whole + 1 : whole;
}

/** Micro-dollars to dollars, for reports. */
export const microUsdToUsd = (microUsd: number): number => microUsd / 1_000_000;
