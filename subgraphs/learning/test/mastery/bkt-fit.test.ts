import { describe, expect, it } from 'vitest';
import { BKT_PRIORS, type BktParams } from '../../src/domain/mastery/bkt.js';
import {
  FITTED_MAX_SLIP_OR_GUESS,
  MIN_OBSERVATIONS_FOR_FIT,
  MIN_SEQUENCES_FOR_FIT,
  bktLogLikelihood,
  fitBkt,
} from '../../src/domain/mastery/bkt-fit.js';
import { simulateQuizData } from '../../src/domain/mastery/bkt-simulation.js';

function sequences(seed: string, learners: number, items: number, params: BktParams): boolean[][] {
  const data = simulateQuizData({ seed, learners, concepts: 1, itemsPerLearner: items, trueParams: [params] });
  return data.concepts[0]!.sequences.map((s) => s.answers);
}

const KEYS = ['pInit', 'pLearn', 'pSlip', 'pGuess'] as const;

describe('fitting BKT by EM', () => {
  const cases: [string, BktParams][] = [
    ['typical', { pInit: 0.3, pLearn: 0.15, pSlip: 0.1, pGuess: 0.2 }],
    ['strong start, slow learning', { pInit: 0.6, pLearn: 0.05, pSlip: 0.15, pGuess: 0.25 }],
    ['fast learning, low guess', { pInit: 0.1, pLearn: 0.35, pSlip: 0.05, pGuess: 0.1 }],
  ];
  for (const [name, truth] of cases) {
    it(`recovers known parameters within 0.1 from 2,000 simulated learners (${name})`, () => {
      const fit = fitBkt(sequences(`fit:${name}`, 2000, 10, truth));
      expect(fit.fitted).toBe(true);
      expect(fit.iterations).toBeGreaterThan(0);
      for (const key of KEYS) expect(Math.abs(fit.params[key] - truth[key])).toBeLessThan(0.1);
    });
  }

  it('finds at least the likelihood of the true parameters without a prior (maximum likelihood)', () => {
    const truth = { pInit: 0.3, pLearn: 0.15, pSlip: 0.1, pGuess: 0.2 };
    const data = sequences('fit:ml', 500, 10, truth);
    const fit = fitBkt(data, { priorStrength: 0 });
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(bktLogLikelihood(data, truth) - 1e-6);
    expect(fit.logLikelihood).toBeGreaterThan(bktLogLikelihood(data, BKT_PRIORS));
    expect(fit.logLikelihood).toBeCloseTo(bktLogLikelihood(data, fit.params), 9);
  });

  it('returns the priors with fitted=false when there are too few learners', () => {
    const data = sequences('fit:few', MIN_SEQUENCES_FOR_FIT - 1, 20, { ...BKT_PRIORS, pInit: 0.8 });
    const fit = fitBkt(data);
    expect(fit).toMatchObject({ fitted: false, iterations: 0, params: BKT_PRIORS });
    expect(fit.logLikelihood).toBeCloseTo(bktLogLikelihood(data, BKT_PRIORS), 9);
  });

  it('returns the priors when there are enough learners but too few answers', () => {
    const items = Math.floor((MIN_OBSERVATIONS_FOR_FIT - 1) / MIN_SEQUENCES_FOR_FIT);
    const data = sequences('fit:short', MIN_SEQUENCES_FOR_FIT, items, BKT_PRIORS);
    expect(data.flat().length).toBeLessThan(MIN_OBSERVATIONS_FOR_FIT);
    const priors = { pInit: 0.2, pLearn: 0.2, pSlip: 0.05, pGuess: 0.25 };
    expect(fitBkt(data, { priors })).toMatchObject({ fitted: false, params: priors });
    // Empty sequences do not count as learners.
    expect(fitBkt([...data, ...Array.from({ length: 100 }, () => [])]).fitted).toBe(false);
  });

  it('the Beta prior pulls a small fit toward the priors', () => {
    const truth = { pInit: 0.7, pLearn: 0.3, pSlip: 0.05, pGuess: 0.35 };
    const data = sequences('fit:small', MIN_SEQUENCES_FOR_FIT, 8, truth);
    const distance = (p: BktParams) => KEYS.reduce((sum, k) => sum + Math.abs(p[k] - BKT_PRIORS[k]), 0);
    const free = fitBkt(data, { priorStrength: 0 });
    const held = fitBkt(data, { priorStrength: 100 });
    expect(free.fitted && held.fitted).toBe(true);
    expect(distance(held.params)).toBeLessThan(distance(free.params));
  });

  it('keeps slip and guess below 0.5 on data that invites the swapped solution', () => {
    // Learners who start right and then go wrong: "known" would have to mean wrong answers.
    const data = Array.from({ length: 60 }, (_, i) => [true, true, true, i % 3 === 0, false, false, false, false]);
    const fit = fitBkt(data, { priorStrength: 0 });
    expect(fit.fitted).toBe(true);
    expect(fit.params.pSlip).toBeLessThanOrEqual(FITTED_MAX_SLIP_OR_GUESS);
    expect(fit.params.pGuess).toBeLessThanOrEqual(FITTED_MAX_SLIP_OR_GUESS);
    for (const key of KEYS) expect(fit.params[key]).toBeGreaterThan(0);
  });

  it('stops at maxIterations', () => {
    const data = sequences('fit:iter', 200, 10, { pInit: 0.3, pLearn: 0.15, pSlip: 0.1, pGuess: 0.2 });
    expect(fitBkt(data, { maxIterations: 2 }).iterations).toBe(2);
  });

  it('refuses malformed sequences and options', () => {
    const bad = (fn: () => unknown, message: RegExp) => {
      expect(fn).toThrow(message);
      try {
        fn();
      } catch (err) {
        expect((err as { extensions: { code: string } }).extensions.code).toBe('BAD_USER_INPUT');
      }
    };
    bad(() => fitBkt([[true, 1 as never]]), /Answer 1 of sequence 0 is 1/);
    bad(() => fitBkt([[true]], { maxIterations: 0 }), /maxIterations is 0/);
    bad(() => fitBkt([[true]], { priors: { ...BKT_PRIORS, pGuess: 0.6 } }), /pGuess is 0\.6/);
    bad(() => fitBkt([[true]], { priorStrength: -1 }), /priorStrength is -1/);
  });
});
