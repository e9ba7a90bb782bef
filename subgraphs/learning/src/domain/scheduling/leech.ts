/**
 * Leeches: cards forgotten again and again. Anki's rule: a card is a leech when its lapses reach
 * the threshold (default 8), and it is flagged again every half-threshold more lapses (12, 16, …),
 * which tags it and suspends it.
 */
import { badInput } from '@coursegraph/service-kit';

/** Anki's default leech threshold, in lapses. */
export const LEECH_THRESHOLD_DEFAULT = 8;

function checkThreshold(threshold: number): void {
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw badInput(`The leech threshold is ${threshold}; it must be a whole number of lapses ≥ 1.`, 'threshold');
  }
}

/** True when a card with `lapses` lapses is a leech (lapses ≥ threshold, default 8). */
export function isLeech(lapses: number, threshold = LEECH_THRESHOLD_DEFAULT): boolean {
  checkThreshold(threshold);
  return lapses >= threshold;
}

/**
 * True when the review that took the card from `lapsesBefore` to `lapsesAfter` lapses makes it a
 * leech now, so it is to be tagged and suspended: the lapse count went up and reached the threshold,
 * or the threshold plus a multiple of half the threshold (floor, at least 1): 8, 12, 16, … by default.
 */
export function leechOnReview(lapsesBefore: number, lapsesAfter: number, threshold = LEECH_THRESHOLD_DEFAULT): boolean {
  checkThreshold(threshold);
  if (
    !Number.isInteger(lapsesBefore) ||
    !Number.isInteger(lapsesAfter) ||
    lapsesBefore < 0 ||
    lapsesAfter < lapsesBefore
  ) {
    throw badInput(
      `Lapses went from ${lapsesBefore} to ${lapsesAfter}; they are whole numbers that never go down.`,
      'lapses',
    );
  }
  if (lapsesAfter === lapsesBefore || lapsesAfter < threshold) return false;
  const every = Math.max(1, Math.floor(threshold / 2));
  return (lapsesAfter - threshold) % every === 0;
}
