import { describe, expect, it } from 'vitest';
import { auc, logLoss, rmseBins, type Prediction } from '../../src/domain/metrics.js';

describe('metrics', () => {
  it('log loss matches a hand computation', () => {
    const preds: Prediction[] = [
      { p: 0.9, y: 1 },
      { p: 0.2, y: 0 },
      { p: 0.6, y: 0 },
    ];
    const expected = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4)) / 3;
    expect(logLoss(preds)).toBeCloseTo(expected, 12);
  });

  it('log loss clips certainty to 1e-6 instead of returning infinity', () => {
    expect(logLoss([{ p: 0, y: 1 }])).toBeCloseTo(-Math.log(1e-6), 9);
    expect(logLoss([{ p: 1, y: 1 }])).toBeCloseTo(-Math.log(1 - 1e-6), 12);
  });

  it('RMSE(bins) weights each bin by its size', () => {
    // p-bins (20 wide): 0.9 and 0.92 share bin 18 (mean p 0.91, observed 0.5); 0.1 is alone in bin 2 (observed 0).
    const preds: Prediction[] = [
      { p: 0.9, y: 1 },
      { p: 0.92, y: 0 },
      { p: 0.1, y: 0 },
    ];
    const expected = Math.sqrt((2 * (0.91 - 0.5) ** 2 + 1 * 0.1 ** 2) / 3);
    expect(rmseBins(preds)).toBeCloseTo(expected, 12);
  });

  it('RMSE(bins) groups by the caller’s bin keys when every prediction has one', () => {
    const preds: Prediction[] = [
      { p: 0.9, y: 1, bin: 'a' },
      { p: 0.1, y: 0, bin: 'a' },
      { p: 0.7, y: 1, bin: 'b' },
    ];
    const expected = Math.sqrt((2 * (0.5 - 0.5) ** 2 + 1 * 0.3 ** 2) / 3);
    expect(rmseBins(preds)).toBeCloseTo(expected, 12);
  });

  it('AUC is 1 for a perfectly separated set, 0 reversed, 0.5 for ties', () => {
    const separated: Prediction[] = [
      { p: 0.1, y: 0 },
      { p: 0.3, y: 0 },
      { p: 0.6, y: 1 },
      { p: 0.8, y: 1 },
    ];
    expect(auc(separated)).toBe(1);
    expect(auc(separated.map((x) => ({ ...x, y: (1 - x.y) as 0 | 1 })))).toBe(0);
    expect(
      auc([
        { p: 0.5, y: 0 },
        { p: 0.5, y: 1 },
        { p: 0.5, y: 1 },
      ]),
    ).toBe(0.5);
  });

  it('AUC counts a tie between classes as one half (hand-counted pairs)', () => {
    // positives 0.8, 0.5; negatives 0.5, 0.2 → pairs: (0.8>0.5)=1, (0.8>0.2)=1, (0.5=0.5)=0.5, (0.5>0.2)=1 → 3.5/4
    const preds: Prediction[] = [
      { p: 0.8, y: 1 },
      { p: 0.5, y: 1 },
      { p: 0.5, y: 0 },
      { p: 0.2, y: 0 },
    ];
    expect(auc(preds)).toBe(3.5 / 4);
  });

  it('returns null when undefined: AUC with one class, any metric with no predictions', () => {
    expect(auc([{ p: 0.4, y: 1 }])).toBeNull();
    expect(auc([])).toBeNull();
    expect(logLoss([])).toBeNull();
    expect(rmseBins([])).toBeNull();
  });

  it('refuses a probability that is NaN or outside [0, 1]', () => {
    expect(() => logLoss([{ p: Number.NaN, y: 1 }])).toThrow(/must be a probability/);
    expect(() => auc([{ p: 1.2, y: 1 }])).toThrowError(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'p' } }),
    );
  });
});
