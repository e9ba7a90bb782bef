/**
 * Calibration and discrimination metrics for predicted recall (or correctness) probabilities:
 * log loss, RMSE(bins) and AUC, as reported by the srs-benchmark
 * (github.com/open-spaced-repetition/srs-benchmark, "Metrics").
 */
import { badInput } from '@coursegraph/service-kit';

/** One prediction: `p` the predicted probability of success (0..1), `y` what happened (1 = success). */
export interface Prediction {
  p: number;
  y: 0 | 1;
  /**
   * Optional bin key for {@link rmseBins}. When every prediction has one, predictions are grouped by
   * it (the benchmark groups reviews by interval length, review count and lapses); otherwise by `p`.
   */
  bin?: string;
}

/** Probabilities are clipped to [P_CLIP, 1 - P_CLIP] before taking logs, so a confident miss costs ~13.8, not infinity. */
export const P_CLIP = 1e-6;

/** Number of equal-width bins of `p` over [0, 1] that {@link rmseBins} uses when no `bin` keys are given. */
export const RMSE_BINS_DEFAULT = 20;

function check(preds: readonly Prediction[]): void {
  for (const [i, { p, y }] of preds.entries()) {
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
      throw badInput(`Prediction ${i} has p = ${String(p)}; it must be a probability between 0 and 1.`, 'p');
    }
    if (y !== 0 && y !== 1) {
      throw badInput(`Prediction ${i} has y = ${String(y)}; it must be 0 or 1.`, 'y');
    }
  }
}

/**
 * Mean binary cross-entropy (natural log), with `p` clipped to [1e-6, 1 - 1e-6].
 * Returns null when there are no predictions. Refuses (BAD_USER_INPUT) a `p` outside [0, 1] or NaN,
 * or a `y` other than 0/1.
 */
export function logLoss(preds: readonly Prediction[]): number | null {
  check(preds);
  if (preds.length === 0) return null;
  let sum = 0;
  for (const { p, y } of preds) {
    const q = Math.min(1 - P_CLIP, Math.max(P_CLIP, p));
    sum += y === 1 ? -Math.log(q) : -Math.log(1 - q);
  }
  return sum / preds.length;
}

/**
 * RMSE(bins): predictions are grouped into bins; per bin, the mean predicted probability is compared
 * with the observed success rate; the result is the root of the bin-size-weighted mean of the squared
 * differences: sqrt(Σ n_b (p̄_b − ȳ_b)² / N).
 *
 * Binning: when every prediction carries a `bin` key, by that key (the srs-benchmark's way: the
 * caller builds the key from interval, review count and lapses); otherwise `bins` equal-width bins of
 * `p` over [0, 1] (default 20; p = 1 falls in the last bin). Returns null when there are no predictions.
 */
export function rmseBins(preds: readonly Prediction[], bins = RMSE_BINS_DEFAULT): number | null {
  check(preds);
  if (!Number.isInteger(bins) || bins < 1) throw badInput(`bins is ${bins}; it must be a positive integer.`, 'bins');
  if (preds.length === 0) return null;
  const byKey = preds.every((x) => typeof x.bin === 'string');
  const groups = new Map<string, { n: number; sumP: number; sumY: number }>();
  for (const x of preds) {
    const key = byKey ? (x.bin as string) : String(Math.min(bins - 1, Math.floor(x.p * bins)));
    const g = groups.get(key) ?? { n: 0, sumP: 0, sumY: 0 };
    g.n += 1;
    g.sumP += x.p;
    g.sumY += x.y;
    groups.set(key, g);
  }
  let sq = 0;
  for (const g of groups.values()) sq += g.n * ((g.sumP - g.sumY) / g.n) ** 2;
  return Math.sqrt(sq / preds.length);
}

/**
 * Area under the ROC curve, computed from ranks (Mann-Whitney U): the probability that a random
 * success gets a higher `p` than a random failure, ties counting one half (tied `p`s share their
 * average rank). Returns null when either class is missing (AUC is undefined then), including for
 * no predictions.
 */
export function auc(preds: readonly Prediction[]): number | null {
  check(preds);
  let positives = 0;
  for (const x of preds) positives += x.y;
  const negatives = preds.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const sorted = [...preds].sort((a, b) => a.p - b.p);
  let rankSumPositives = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.p === sorted[i]!.p) j++;
    // Ranks i+1..j+1 are tied: each gets their average.
    const averageRank = (i + 1 + (j + 1)) / 2;
    for (let k = i; k <= j; k++) if (sorted[k]!.y === 1) rankSumPositives += averageRank;
    i = j + 1;
  }
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}
