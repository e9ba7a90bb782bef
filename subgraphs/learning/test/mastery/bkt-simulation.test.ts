import { describe, expect, it } from 'vitest';
import { TRUE_PARAM_RANGES, evaluateBkt, simulateQuizData } from '../../src/domain/mastery/bkt-simulation.js';

describe('simulated quiz data', () => {
  it('is reproducible from its seed, and differs with another seed', () => {
    const options = { seed: 'sim:a', learners: 20, concepts: 3, itemsPerLearner: 6 };
    expect(simulateQuizData(options)).toEqual(simulateQuizData(options));
    expect(simulateQuizData({ ...options, seed: 'sim:b' })).not.toEqual(simulateQuizData(options));
  });

  it('adding learners leaves the existing ones unchanged (separate streams)', () => {
    const small = simulateQuizData({ seed: 'sim:grow', learners: 10, concepts: 2, itemsPerLearner: 5 });
    const large = simulateQuizData({ seed: 'sim:grow', learners: 30, concepts: 2, itemsPerLearner: 5 });
    for (const [i, concept] of small.concepts.entries()) {
      expect(large.concepts[i]!.trueParams).toEqual(concept.trueParams);
      expect(large.concepts[i]!.sequences.slice(0, 10)).toEqual(concept.sequences);
    }
  });

  it('draws true parameters inside the documented ranges', () => {
    const data = simulateQuizData({ seed: 'sim:ranges', learners: 1, concepts: 50, itemsPerLearner: 1 });
    for (const { trueParams } of data.concepts) {
      for (const [key, [low, high]] of Object.entries(TRUE_PARAM_RANGES)) {
        const value = trueParams[key as keyof typeof trueParams];
        expect(value).toBeGreaterThanOrEqual(low);
        expect(value).toBeLessThanOrEqual(high);
      }
    }
  });

  it('answers follow the hidden state: 1 − slip when known, guess when not; known is never forgotten', () => {
    const trueParams = [{ pInit: 0.3, pLearn: 0.2, pSlip: 0.1, pGuess: 0.25 }];
    const data = simulateQuizData({ seed: 'sim:truth', learners: 3000, concepts: 1, itemsPerLearner: 8, trueParams });
    let knownAnswers = 0;
    let knownCorrect = 0;
    let unknownAnswers = 0;
    let unknownCorrect = 0;
    let startKnown = 0;
    for (const { answers, known } of data.concepts[0]!.sequences) {
      if (known[0]) startKnown += 1;
      known.forEach((k, t) => {
        if (t > 0 && known[t - 1]) expect(k).toBe(true);
        if (k) {
          knownAnswers += 1;
          if (answers[t]) knownCorrect += 1;
        } else {
          unknownAnswers += 1;
          if (answers[t]) unknownCorrect += 1;
        }
      });
    }
    expect(knownCorrect / knownAnswers).toBeCloseTo(0.9, 1);
    expect(unknownCorrect / unknownAnswers).toBeCloseTo(0.25, 1);
    expect(startKnown / 3000).toBeCloseTo(0.3, 1);
  });

  it('refuses bad sizes and parameters', () => {
    expect(() => simulateQuizData({ seed: 's', learners: 0, concepts: 1, itemsPerLearner: 1 })).toThrow(
      /learners is 0/,
    );
    expect(() =>
      simulateQuizData({
        seed: 's',
        learners: 1,
        concepts: 1,
        itemsPerLearner: 1,
        trueParams: [{ pInit: 0.3, pLearn: 0.1, pSlip: 0.7, pGuess: 0.2 }],
      }),
    ).toThrow(/pSlip is 0\.7/);
  });
});

describe('BKT against the running-average baseline', () => {
  it('fitted BKT predicts the next answer better than the share correct so far', () => {
    const data = simulateQuizData({ seed: 'bench:bkt', learners: 1000, concepts: 8, itemsPerLearner: 10 });
    const result = evaluateBkt(data, { trainFraction: 0.5 });
    expect(result.predictions).toBe(8 * 500 * 10);
    expect(result.concepts.every((c) => c.fitted)).toBe(true);
    expect(result.bkt.auc).not.toBeNull();
    expect(result.baseline.auc).not.toBeNull();
    expect(result.bkt.auc!).toBeGreaterThan(result.baseline.auc!);
    expect(result.bkt.logLoss!).toBeLessThan(result.baseline.logLoss!);
    // BKT's P(known) also tracks the simulated hidden state better than the share correct does.
    expect(result.hiddenStateAuc.bkt!).toBeGreaterThan(result.hiddenStateAuc.baseline!);
    // Per concept, EM on the training half lands near the truth.
    for (const c of result.concepts) {
      for (const key of ['pInit', 'pLearn', 'pSlip', 'pGuess'] as const) {
        expect(Math.abs(c.fittedParams[key] - c.trueParams[key])).toBeLessThan(0.1);
      }
    }
  });

  it('falls back to the priors on concepts with too few training learners, and still predicts', () => {
    const data = simulateQuizData({ seed: 'bench:small', learners: 20, concepts: 2, itemsPerLearner: 10 });
    const result = evaluateBkt(data);
    expect(result.concepts.every((c) => !c.fitted)).toBe(true);
    expect(result.predictions).toBe(2 * 10 * 10);
  });

  it('refuses a train fraction outside (0, 1)', () => {
    const data = simulateQuizData({ seed: 'x', learners: 2, concepts: 1, itemsPerLearner: 1 });
    expect(() => evaluateBkt(data, { trainFraction: 1 })).toThrow(/trainFraction is 1/);
  });
});
