/**
 * Fitting a concept's BKT parameters from the platform's own answers by Expectation–Maximisation
 * (Baum–Welch on BKT's two-state hidden Markov model, as in Corbett & Anderson's successors, e.g.
 * Pardos & Heffernan 2010; Chang et al. 2006 "A Bayes net toolkit for student modeling").
 */
import { badInput } from '@coursegraph/service-kit';
import { BKT_PRIORS, checkBktParams, type BktParams } from './bkt.js';

/**
 * Fewer learners than this with answers on a concept and the priors are kept. P(L0) is estimated
 * from one first state per learner: at 30 learners the standard error of a proportion near 0.5 is
 * √(0.25/30) ≈ 0.09, about the precision (±0.1) at which the fitted values start to beat a prior.
 */
export const MIN_SEQUENCES_FOR_FIT = 30;

/**
 * Fewer answers than this in all on a concept and the priors are kept. Slip and guess are each
 * estimated from the answers given in one state, and P(T) from the transitions between answers:
 * 200 answers (about 7 per learner at the minimum of 30 learners) leaves each of them some tens of
 * informative answers.
 */
export const MIN_OBSERVATIONS_FOR_FIT = 200;

/** Default maximum number of EM iterations. */
export const DEFAULT_MAX_ITERATIONS = 100;

/** Default convergence tolerance: EM stops when no parameter moves by more than this in an iteration. */
export const DEFAULT_TOLERANCE = 1e-6;

/**
 * Default weight of the priors, in pseudo-answers per parameter (a Beta prior with mean = the prior
 * value, MAP estimation). 10 pseudo-answers hold a fit on 30 learners near the priors where the data
 * say little, and are negligible against hundreds of learners.
 */
export const DEFAULT_PRIOR_STRENGTH = 10;

/** Fitted values are kept in [PARAM_MIN, 1 − PARAM_MIN] (slip and guess in [PARAM_MIN, FITTED_MAX_SLIP_OR_GUESS]). */
export const PARAM_MIN = 0.001;

/**
 * Upper bound for fitted slip and guess: 0.45, strictly below the 0.5 at which BKT's states swap
 * meaning (the degenerate solutions of Baker, Corbett & Aleven 2008). See bkt.ts, MAX_SLIP_OR_GUESS.
 */
export const FITTED_MAX_SLIP_OR_GUESS = 0.45;

/** Options of {@link fitBkt}. */
export interface FitBktOptions {
  /** Starting point of EM, Beta-prior means, and what is returned without enough data. Default {@link BKT_PRIORS}. */
  priors?: BktParams;
  /** Default 100. */
  maxIterations?: number;
  /** Default 1e-6 (largest parameter change per iteration at which EM stops). */
  tolerance?: number;
  /** Pseudo-answers per parameter pulling toward the priors; 0 is plain maximum likelihood. Default 10. */
  priorStrength?: number;
}

/** What {@link fitBkt} found. */
export interface FitBktResult {
  /** The fitted parameters, or the priors when `fitted` is false. */
  params: BktParams;
  /** EM iterations run (0 when not fitted). */
  iterations: number;
  /** Natural-log likelihood of all the sequences under `params`. */
  logLikelihood: number;
  /** False: too little data (see MIN_SEQUENCES_FOR_FIT, MIN_OBSERVATIONS_FOR_FIT), the priors are returned. */
  fitted: boolean;
}

/** Expected counts gathered by the E-step over all sequences. */
interface Counts {
  sequences: number;
  /** Σ P(known at the first answer). */
  initKnown: number;
  /** Σ P(unknown at t) for t with a next answer, and Σ P(unknown at t, known at t+1). */
  unknownBeforeNext: number;
  learned: number;
  /** Σ P(known at t), and the part of it on wrong answers. */
  known: number;
  knownWrong: number;
  /** Σ P(unknown at t), and the part of it on correct answers. */
  unknown: number;
  unknownCorrect: number;
  logLikelihood: number;
}

function emission(correct: boolean, known: boolean, p: BktParams): number {
  if (known) return correct ? 1 - p.pSlip : p.pSlip;
  return correct ? p.pGuess : 1 - p.pGuess;
}

/**
 * Forward–backward over every sequence (scaled, so long sequences do not underflow), accumulating
 * the expected counts that the M-step needs. Index 0 = unknown, 1 = known.
 */
function expectation(sequences: readonly (readonly boolean[])[], p: BktParams): Counts {
  const c: Counts = {
    sequences: 0,
    initKnown: 0,
    unknownBeforeNext: 0,
    learned: 0,
    known: 0,
    knownWrong: 0,
    unknown: 0,
    unknownCorrect: 0,
    logLikelihood: 0,
  };
  for (const seq of sequences) {
    const n = seq.length;
    if (n === 0) continue;
    c.sequences += 1;
    // alpha[t] = P(state at t | answers 0..t), scale[t] = P(answer t | answers 0..t−1).
    const a0 = new Float64Array(n);
    const a1 = new Float64Array(n);
    const scale = new Float64Array(n);
    let prior0 = 1 - p.pInit;
    let prior1 = p.pInit;
    for (let t = 0; t < n; t++) {
      const u = prior0 * emission(seq[t]!, false, p);
      const k = prior1 * emission(seq[t]!, true, p);
      const s = u + k;
      scale[t] = s;
      a0[t] = u / s;
      a1[t] = k / s;
      c.logLikelihood += Math.log(s);
      prior0 = a0[t]! * (1 - p.pLearn);
      prior1 = a1[t]! + a0[t]! * p.pLearn;
    }
    // beta[t] = P(answers t+1.. | state at t) / Π scale[t+1..]; gamma = alpha·beta.
    let b0 = 1;
    let b1 = 1;
    for (let t = n - 1; t >= 0; t--) {
      const g0 = a0[t]! * b0;
      const g1 = a1[t]! * b1;
      const gs = g0 + g1;
      const known = g1 / gs;
      const unknown = g0 / gs;
      c.known += known;
      c.unknown += unknown;
      if (seq[t]) c.unknownCorrect += unknown;
      else c.knownWrong += known;
      if (t === 0) c.initKnown += known;
      if (t > 0) {
        // ξ(t−1: unknown → t: known) and the new beta for t−1.
        const e0 = emission(seq[t]!, false, p);
        const e1 = emission(seq[t]!, true, p);
        const s = scale[t]!;
        const learned = (a0[t - 1]! * p.pLearn * e1 * b1) / s;
        c.learned += learned;
        c.unknownBeforeNext += learned + (a0[t - 1]! * (1 - p.pLearn) * e0 * b0) / s;
        const nb0 = ((1 - p.pLearn) * e0 * b0 + p.pLearn * e1 * b1) / s;
        const nb1 = (e1 * b1) / s;
        b0 = nb0;
        b1 = nb1;
      }
    }
  }
  return c;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** MAP estimate of a proportion under a Beta prior worth `strength` pseudo-observations around `prior`. */
function map(successes: number, total: number, prior: number, strength: number): number {
  const denominator = total + strength;
  return denominator > 0 ? (successes + strength * prior) / denominator : prior;
}

function maximisation(c: Counts, priors: BktParams, strength: number): BktParams {
  const high = 1 - PARAM_MIN;
  return {
    pInit: clamp(map(c.initKnown, c.sequences, priors.pInit, strength), PARAM_MIN, high),
    pLearn: clamp(map(c.learned, c.unknownBeforeNext, priors.pLearn, strength), PARAM_MIN, high),
    pSlip: clamp(map(c.knownWrong, c.known, priors.pSlip, strength), PARAM_MIN, FITTED_MAX_SLIP_OR_GUESS),
    pGuess: clamp(map(c.unknownCorrect, c.unknown, priors.pGuess, strength), PARAM_MIN, FITTED_MAX_SLIP_OR_GUESS),
  };
}

function checkSequences(sequences: readonly (readonly boolean[])[]): { count: number; observations: number } {
  if (!Array.isArray(sequences)) throw badInput('sequences must be a list of answer sequences.', 'sequences');
  let count = 0;
  let observations = 0;
  for (const [i, seq] of sequences.entries()) {
    if (!Array.isArray(seq)) throw badInput(`Sequence ${i} is not a list of answers.`, 'sequences');
    for (const [j, answer] of seq.entries()) {
      if (typeof answer !== 'boolean') {
        throw badInput(`Answer ${j} of sequence ${i} is ${String(answer)}; it must be true or false.`, 'sequences');
      }
    }
    if (seq.length > 0) count += 1;
    observations += seq.length;
  }
  return { count, observations };
}

/** Natural-log likelihood of `sequences` (each a learner's answers in order) under `params`. */
export function bktLogLikelihood(sequences: readonly (readonly boolean[])[], params: BktParams): number {
  checkBktParams(params);
  checkSequences(sequences);
  return expectation(sequences, params).logLikelihood;
}

/**
 * Fits one concept's BKT parameters to its answer sequences (one per learner, in answer order) by EM:
 * forward–backward per sequence, then re-estimation of pInit, pLearn, pSlip and pGuess from the
 * expected counts, repeated until no parameter moves by more than `tolerance` or `maxIterations`.
 *
 * - Starts from the priors (which have slip and guess well below 0.5, so EM climbs toward the
 *   meaningful mode rather than the swapped one).
 * - Each re-estimate is a MAP step under a Beta prior centred on the prior value, worth
 *   `priorStrength` pseudo-answers (default 10): small data stays near the priors, large data
 *   overrules them.
 * - Values are clamped to [0.001, 0.999], slip and guess to [0.001, 0.45] (see FITTED_MAX_SLIP_OR_GUESS).
 * - With fewer than MIN_SEQUENCES_FOR_FIT non-empty sequences or MIN_OBSERVATIONS_FOR_FIT answers,
 *   returns the priors with `fitted: false`.
 *
 * Refuses (BAD_USER_INPUT) malformed sequences, invalid priors or options.
 */
export function fitBkt(sequences: readonly (readonly boolean[])[], options: FitBktOptions = {}): FitBktResult {
  const priors = options.priors ?? BKT_PRIORS;
  checkBktParams(priors);
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const strength = options.priorStrength ?? DEFAULT_PRIOR_STRENGTH;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw badInput(`maxIterations is ${maxIterations}; it must be a positive integer.`, 'maxIterations');
  }
  if (!Number.isFinite(tolerance) || tolerance <= 0) {
    throw badInput(`tolerance is ${tolerance}; it must be a positive number.`, 'tolerance');
  }
  if (!Number.isFinite(strength) || strength < 0) {
    throw badInput(`priorStrength is ${strength}; it must be zero or more.`, 'priorStrength');
  }
  const { count, observations } = checkSequences(sequences);
  if (count < MIN_SEQUENCES_FOR_FIT || observations < MIN_OBSERVATIONS_FOR_FIT) {
    return {
      params: { ...priors },
      iterations: 0,
      logLikelihood: expectation(sequences, priors).logLikelihood,
      fitted: false,
    };
  }
  let params: BktParams = { ...priors };
  let iterations = 0;
  while (iterations < maxIterations) {
    const next = maximisation(expectation(sequences, params), priors, strength);
    iterations += 1;
    const moved = Math.max(
      Math.abs(next.pInit - params.pInit),
      Math.abs(next.pLearn - params.pLearn),
      Math.abs(next.pSlip - params.pSlip),
      Math.abs(next.pGuess - params.pGuess),
    );
    params = next;
    if (moved <= tolerance) break;
  }
  return { params, iterations, logLikelihood: expectation(sequences, params).logLikelihood, fitted: true };
}
