/**
 * How hard a request looks, in 0..1, from features anyone can observe without a model: the text's
 * length, its vocabulary, its numbers/code/formulas, whether it asks for reasoning (why, how,
 * compare…), and how the learner has been doing (recent failures, hints already given).
 *
 * Each feature is turned into 0..1 by a saturating curve, then weighted:
 *
 * | feature            | measured as                                               | 1.0 at         | weight |
 * | ------------------ | --------------------------------------------------------- | -------------- | ------ |
 * | length             | tokens (provider's estimateTokens), on a log scale        | 1,000 tokens   | 0.15   |
 * | vocabulary         | share of alphabetic words that are long (≥ 9 letters) or  | 30 % of words  | 0.15   |
 * |                    | technical (camelCase, snake_case, letters with digits)    |                |        |
 * | symbols            | numbers, operators, code punctuation, LaTeX commands,     | 0.5 per word   | 0.10   |
 * |                    | per word                                                  |                |        |
 * | reasoning cues     | why / how / compare / contrast / explain / difference /   | 2 cues         | 0.25   |
 * |                    | prove / derive / justify / what if / trade-off …          |                |        |
 * | recent failures    | the learner's wrong answers on this lesson lately         | 3 failures     | 0.20   |
 * | hints given        | hints already given on this thread                        | 4 hints        | 0.15   |
 *
 * The score never decreases when one feature grows and the others stay put (every curve is
 * non-decreasing and every weight positive). Reasoning weighs most because "why/how" questions are
 * where cheap models fall behind; the learner's struggle comes next because a learner who keeps
 * failing needs a better explanation than the one they already got.
 */
import { estimateTokens } from '../../providers/provider.js';

export interface DifficultyContext {
  /** The learner's wrong answers on this lesson lately (0 when unknown or not a learner's request). */
  recentFailures?: number;
  /** Hints already given on this tutor thread. */
  hintsGiven?: number;
}

/** What the text alone shows. */
export interface TextFeatures {
  tokens: number;
  /** Share (0..1) of the alphabetic words that are long or technical. */
  uncommonWordShare: number;
  /** Numbers, operators, code punctuation and LaTeX commands per word. */
  symbolsPerWord: number;
  /** How many reasoning cues (why, how, compare, …) the text holds. */
  reasoningCues: number;
}

export interface DifficultyFeatures extends TextFeatures {
  recentFailures: number;
  hintsGiven: number;
}

export interface DifficultyEstimate {
  /** 0 (trivial) .. 1 (as hard as this estimate can tell). */
  score: number;
  /** What it was computed from; the routing policy reads some of these directly. */
  features: DifficultyFeatures;
}

export const DIFFICULTY_WEIGHTS = Object.freeze({
  length: 0.15,
  vocabulary: 0.15,
  symbols: 0.1,
  reasoning: 0.25,
  failures: 0.2,
  hints: 0.15,
});

/** Where each feature's curve reaches 1. */
const SATURATION = {
  tokens: 1_000,
  uncommonWordShare: 0.3,
  symbolsPerWord: 0.5,
  reasoningCues: 2,
  failures: 3,
  hints: 4,
};
/** Tokens are read on a log scale: 8 tokens already count a little (0.14), 60 about half as much as 1,000. */
const LENGTH_UNIT_TOKENS = 8;

const ANY_WORD = /[\p{L}\p{N}_]+/gu;
const EDGE_PUNCTUATION = /^[^\p{L}\p{N}_]+|[^\p{L}\p{N}_]+$/gu;
const LONG_WORD_LETTERS = 9;
/** Numbers, operators, code punctuation and LaTeX commands (\frac, \sum …). */
const SYMBOL = /\d+(?:[.,]\d+)?|\\[A-Za-z]+|[=+*/^<>%{}[\]();`|&~$∑∫√≤≥≠±→]/g;
const REASONING_CUE =
  /\b(?:why|how|compare[ds]?|comparing|contrast|explain|explanation|differen(?:ce|t|ces)|differ|prove|proof|derive|justify|what if|would happen|relationship|trade-?offs?|versus|vs\.?)\b/gi;

const countMatches = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

/** Long (≥ 9 letters) or technical: camelCase, snake_case, letters mixed with digits (x2, sha256). */
function isUncommon(word: string): boolean {
  const letters = word.match(/\p{L}/gu)?.length ?? 0;
  return letters >= LONG_WORD_LETTERS || /\p{Ll}\p{Lu}/u.test(word) || word.includes('_') || /\d/.test(word);
}

/** The text-only features of `text`. */
export function textFeatures(text: string): TextFeatures {
  // Words for the vocabulary share are whitespace-separated pieces holding a letter, so adding
  // numbers or formulas to a text moves its symbols, not its vocabulary.
  const words = text
    .split(/\s+/)
    .map((piece) => piece.replace(EDGE_PUNCTUATION, ''))
    .filter((word) => /\p{L}/u.test(word));
  const uncommon = words.filter(isUncommon).length;
  return {
    tokens: estimateTokens(text),
    uncommonWordShare: words.length === 0 ? 0 : uncommon / words.length,
    symbolsPerWord: countMatches(text, SYMBOL) / Math.max(1, countMatches(text, ANY_WORD)),
    reasoningCues: countMatches(text, REASONING_CUE),
  };
}

const saturate = (value: number, at: number): number => Math.min(1, Math.max(0, value) / at);

/** The score of given features (the table above). Exported so a simulation can score sampled features. */
export function scoreDifficulty(features: DifficultyFeatures): number {
  const w = DIFFICULTY_WEIGHTS;
  const length =
    Math.log1p(Math.max(0, features.tokens) / LENGTH_UNIT_TOKENS) / Math.log1p(SATURATION.tokens / LENGTH_UNIT_TOKENS);
  const score =
    w.length * Math.min(1, length) +
    w.vocabulary * saturate(features.uncommonWordShare, SATURATION.uncommonWordShare) +
    w.symbols * saturate(features.symbolsPerWord, SATURATION.symbolsPerWord) +
    w.reasoning * saturate(features.reasoningCues, SATURATION.reasoningCues) +
    w.failures * saturate(features.recentFailures, SATURATION.failures) +
    w.hints * saturate(features.hintsGiven, SATURATION.hints);
  // Rounded so equal inputs give bit-for-bit equal scores across runs and machines.
  return Math.round(Math.min(1, score) * 1e6) / 1e6;
}

function count(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

/**
 * How hard `text` looks for the request at hand: the learner's message (tutor), the lesson text
 * (generation), or the learner's answer (grading), with the learner's recent record.
 */
export function estimateDifficulty(text: string, context: DifficultyContext = {}): DifficultyEstimate {
  const features: DifficultyFeatures = {
    ...textFeatures(text),
    recentFailures: count(context.recentFailures, 'recentFailures'),
    hintsGiven: count(context.hintsGiven, 'hintsGiven'),
  };
  return { score: scoreDifficulty(features), features };
}
