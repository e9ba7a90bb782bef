import { describe, expect, it } from 'vitest';
import {
  BKT_PRIORS,
  MASTERY_THRESHOLD,
  isMastered,
  predictCorrect,
  reviewIsCorrect,
  scoreIsCorrect,
  updateMastery,
  updateMasteryFromReview,
  weightedUpdate,
  type BktParams,
} from '../../src/domain/mastery/bkt.js';

const params: BktParams = { pInit: 0.3, pLearn: 0.1, pSlip: 0.1, pGuess: 0.2 };

function expectBadInput(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect((err as { extensions?: { code?: string } }).extensions?.code).toBe('BAD_USER_INPUT');
    expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected BAD_USER_INPUT');
}

describe('BKT update', () => {
  it('matches a hand computation for a correct answer', () => {
    // P(L|correct) = 0.3·0.9 / (0.3·0.9 + 0.7·0.2) = 0.27 / 0.41 = 0.658537;
    // then learning: 0.658537 + 0.341463·0.1 = 0.692683.
    expect(updateMastery(0.3, true, params)).toBeCloseTo(0.692683, 6);
  });

  it('matches a hand computation for a wrong answer', () => {
    // P(L|wrong) = 0.3·0.1 / (0.3·0.1 + 0.7·0.8) = 0.03 / 0.59 = 0.050847;
    // then learning: 0.050847 + 0.949153·0.1 = 0.145763.
    expect(updateMastery(0.3, false, params)).toBeCloseTo(0.145763, 6);
  });

  it('predicts correctness from P(known): 0.3·0.9 + 0.7·0.2 = 0.41', () => {
    expect(predictCorrect(0.3, params)).toBeCloseTo(0.41, 12);
    expect(predictCorrect(1, params)).toBeCloseTo(1 - params.pSlip, 12);
    expect(predictCorrect(0, params)).toBeCloseTo(params.pGuess, 12);
  });

  it('rises with every correct answer in a run and reaches mastery', () => {
    let p = BKT_PRIORS.pInit;
    const trace = [p];
    for (let i = 0; i < 6; i++) trace.push((p = updateMastery(p, true, BKT_PRIORS)));
    for (let i = 1; i < trace.length; i++) expect(trace[i]!).toBeGreaterThan(trace[i - 1]!);
    expect(isMastered(trace[2]!)).toBe(false);
    // As documented with BKT_PRIORS: three correct answers from scratch pass the 0.95 criterion.
    expect(trace[3]!).toBeGreaterThanOrEqual(MASTERY_THRESHOLD);
    expect(isMastered(trace[3]!)).toBe(true);
  });

  it('falls after wrong answers, and a wrong answer costs mastery', () => {
    let p = 0.9;
    const trace = [p];
    for (let i = 0; i < 4; i++) trace.push((p = updateMastery(p, false, params)));
    for (let i = 1; i < trace.length; i++) expect(trace[i]!).toBeLessThan(trace[i - 1]!);
    expect(isMastered(0.97)).toBe(true);
    expect(updateMastery(0.97, false, params)).toBeLessThan(MASTERY_THRESHOLD);
  });

  it('stays a probability at the extremes', () => {
    for (const p0 of [0, 1]) {
      for (const correct of [true, false]) {
        const p = updateMastery(p0, correct, params);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
      }
    }
    // Known stays known (no forgetting); unknown can only be learned.
    expect(updateMastery(1, false, params)).toBe(1);
    expect(updateMastery(0, true, params)).toBeCloseTo(params.pLearn, 12);
  });
});

describe('partial scores and reviews', () => {
  it('a score of 1 or 0 is exactly a correct or wrong answer', () => {
    expect(weightedUpdate(0.4, 1, params)).toBeCloseTo(updateMastery(0.4, true, params), 12);
    expect(weightedUpdate(0.4, 0, params)).toBeCloseTo(updateMastery(0.4, false, params), 12);
  });

  it('a score of 0.5 carries no evidence: only the learning transition applies', () => {
    expect(weightedUpdate(0.4, 0.5, params)).toBeCloseTo(0.4 + 0.6 * params.pLearn, 12);
  });

  it('a higher score never gives lower mastery', () => {
    let last = -1;
    for (let score = 0; score <= 1.0001; score += 0.05) {
      const p = weightedUpdate(0.4, Math.min(1, score), params);
      expect(p).toBeGreaterThanOrEqual(last);
      last = p;
    }
  });

  it('binarises a score at 0.5 for fitting', () => {
    expect(scoreIsCorrect(0.5)).toBe(true);
    expect(scoreIsCorrect(0.49)).toBe(false);
  });

  it('AGAIN counts as wrong, HARD/GOOD/EASY as correct', () => {
    expect(reviewIsCorrect('AGAIN')).toBe(false);
    for (const r of ['HARD', 'GOOD', 'EASY'] as const) {
      expect(reviewIsCorrect(r)).toBe(true);
      expect(updateMasteryFromReview(0.5, r, params)).toBeCloseTo(updateMastery(0.5, true, params), 12);
    }
    expect(updateMasteryFromReview(0.5, 'AGAIN', params)).toBeCloseTo(updateMastery(0.5, false, params), 12);
  });
});

describe('invalid input', () => {
  it('is refused with BAD_USER_INPUT and a specific message', () => {
    expectBadInput(() => updateMastery(1.2, true, params), /pKnown is 1\.2/);
    expectBadInput(() => updateMastery(Number.NaN, true, params), /pKnown is NaN/);
    expectBadInput(() => updateMastery(0.5, true, { ...params, pSlip: 0.5 }), /pSlip is 0\.5.*below 0\.5/);
    expectBadInput(() => predictCorrect(0.5, { ...params, pGuess: 0 }), /pGuess is 0/);
    expectBadInput(() => weightedUpdate(0.5, -0.1, params), /score is -0\.1/);
    expectBadInput(() => reviewIsCorrect('MAYBE' as never), /rating is MAYBE/);
    expectBadInput(() => updateMastery(0.5, 'yes' as never, params), /correct is yes/);
  });
});
