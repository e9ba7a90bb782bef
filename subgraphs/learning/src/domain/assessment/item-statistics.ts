/**
 * Statistics for instructors: per item, how many got it right (difficulty) and whether those who
 * got it right did better on the rest of the quiz (discrimination); per quiz, how scores spread.
 * Classical test theory, as Moodle's quiz statistics report them.
 */
import { badInput } from '@coursegraph/service-kit';

/** One graded response: the item's score in [0, 1] within one attempt. */
export interface ScoredResponse {
  attemptId: string;
  itemId: string;
  score: number;
}

/** Statistics of one item. */
export interface ItemStatistics {
  /** Attempts that answered the item. */
  attempts: number;
  /** Share of those responses fully correct (score === 1), 0..1; higher is easier. */
  difficulty: number;
  /**
   * Point-biserial correlation, −1..1, between the item being fully correct and the rest score
   * (the attempt's total of item scores minus this item's), so the item does not correlate with
   * itself. Null when undefined: fewer than 2 attempts, or everyone right, everyone wrong, or
   * every rest score equal. Around 0.3 and above is usually read as a good item; negative means
   * stronger learners get it wrong more often.
   */
  discrimination: number | null;
}

// Below this relative variance the rest scores are equal up to float rounding (0.1 + 0.2 vs 0.3).
const ZERO_VARIANCE = 1e-12;

/**
 * Item statistics from every graded response of a quiz (several quizzes' responses may be mixed:
 * totals are per attempt). A repeated (attemptId, itemId) counts once, the later row winning.
 * With pools, attempts hold different items, and rest scores compare different sets of items: read
 * discrimination with that in mind.
 */
export function itemStatistics(responses: readonly ScoredResponse[]): Map<string, ItemStatistics> {
  const byAttempt = new Map<string, Map<string, number>>();
  for (const r of responses) {
    const items = byAttempt.get(r.attemptId) ?? new Map<string, number>();
    items.set(r.itemId, r.score);
    byAttempt.set(r.attemptId, items);
  }
  const samples = new Map<string, { correct: number; rest: number }[]>();
  for (const items of byAttempt.values()) {
    let total = 0;
    for (const score of items.values()) total += score;
    for (const [itemId, score] of items) {
      const list = samples.get(itemId) ?? [];
      list.push({ correct: score === 1 ? 1 : 0, rest: total - score });
      samples.set(itemId, list);
    }
  }
  const out = new Map<string, ItemStatistics>();
  for (const [itemId, list] of samples) {
    const n = list.length;
    const meanX = list.reduce((s, v) => s + v.correct, 0) / n;
    out.set(itemId, { attempts: n, difficulty: meanX, discrimination: pearson(list, meanX) });
  }
  return out;
}

function pearson(list: { correct: number; rest: number }[], meanX: number): number | null {
  const n = list.length;
  if (n < 2) return null;
  const meanY = list.reduce((s, v) => s + v.rest, 0) / n;
  let cov = 0;
  let varX = 0;
  let varY = 0;
  for (const { correct, rest } of list) {
    cov += (correct - meanX) * (rest - meanY);
    varX += (correct - meanX) ** 2;
    varY += (rest - meanY) ** 2;
  }
  if (varX === 0 || varY <= ZERO_VARIANCE * n * Math.max(1, meanY * meanY)) return null;
  // Clamped: rounding can take a perfect correlation a hair past ±1.
  return Math.max(-1, Math.min(1, cov / Math.sqrt(varX * varY)));
}

/** A bucket of the score distribution: scores in [from, to), the last one [90, 100] inclusive. */
export interface ScoreBucket {
  from: number;
  to: number;
  count: number;
}

/** How a quiz's scores spread. Mean, median and standard deviation are null without scores. */
export interface ScoreDistribution {
  count: number;
  mean: number | null;
  median: number | null;
  /** Population standard deviation (these scores, not an estimate for others), in points. */
  stdDev: number | null;
  /** Ten buckets of ten points: [0, 10), [10, 20) … [90, 100]. */
  buckets: ScoreBucket[];
}

/** The distribution of quiz scores on a 0..100 scale; refuses (field `scores[i]`) a score outside it. */
export function scoreDistribution(scores: readonly number[]): ScoreDistribution {
  scores.forEach((s, i) => {
    if (!Number.isFinite(s) || s < 0 || s > 100)
      throw badInput(`scores[${i}] is ${s}; scores are from 0 to 100.`, `scores[${i}]`);
  });
  const buckets = Array.from({ length: 10 }, (_, i) => ({ from: i * 10, to: i * 10 + 10, count: 0 }));
  for (const s of scores) (buckets[Math.min(9, Math.floor(s / 10))] as ScoreBucket).count++;
  const count = scores.length;
  if (count === 0) return { count, mean: null, median: null, stdDev: null, buckets };
  const mean = scores.reduce((a, b) => a + b, 0) / count;
  const sorted = [...scores].sort((a, b) => a - b);
  const mid = Math.floor(count / 2);
  const median =
    count % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  const stdDev = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / count);
  return { count, mean, median, stdDev, buckets };
}
