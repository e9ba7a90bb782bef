/**
 * Simulated quiz answers with a known hidden mastery, and the evaluation of BKT on them against a
 * running-average baseline (the `bkt` and `baseline` rows of `npm run bench:learning`).
 */
import { badInput } from '@coursegraph/service-kit';
import { randomFromSeed, type Random } from '../assessment/seeded-random.js';
import { auc, logLoss, type Prediction } from '../metrics.js';
import { checkBktParams, predictCorrect, updateMastery, type BktParams } from './bkt.js';
import { fitBkt, type FitBktOptions } from './bkt-fit.js';

/**
 * Ranges that each concept's true parameters are drawn from, uniformly, when not given: the spread
 * of fitted values for tutor skills (Corbett & Anderson 1995; Baker, Corbett & Aleven 2008), kept
 * inside BKT's identifiable region (slip and guess well below 0.5).
 */
export const TRUE_PARAM_RANGES: Readonly<Record<keyof BktParams, readonly [number, number]>> = Object.freeze({
  pInit: [0.1, 0.5],
  pLearn: [0.05, 0.3],
  pSlip: [0.05, 0.2],
  pGuess: [0.1, 0.3],
});

/** The largest simulation accepted, in answers (learners × concepts × itemsPerLearner). */
export const MAX_SIMULATED_ANSWERS = 10_000_000;

/** Options of {@link simulateQuizData}. */
export interface SimulateQuizOptions {
  /** Seed of every random draw: the same options give the same data. */
  seed: string;
  /** Learners, each answering every concept. */
  learners: number;
  /** Concepts, each with its own true parameters. */
  concepts: number;
  /** Answers per learner and concept. */
  itemsPerLearner: number;
  /** True parameters per concept (index = concept); when absent, drawn from {@link TRUE_PARAM_RANGES}. */
  trueParams?: readonly BktParams[];
}

/** One learner's answers on one concept, with the hidden state at each answer. */
export interface SimulatedSequence {
  learnerId: string;
  /** Correctness of each answer, in order. */
  answers: boolean[];
  /** Whether the concept was known when each answer was given (the ground truth BKT estimates). */
  known: boolean[];
}

/** One concept's simulated data. */
export interface SimulatedConcept {
  conceptId: string;
  trueParams: BktParams;
  sequences: SimulatedSequence[];
}

/** What {@link simulateQuizData} returns. */
export interface SimulatedQuizData {
  seed: string;
  concepts: SimulatedConcept[];
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw badInput(`${name} is ${value}; it must be a positive integer.`, name);
}

function uniform(rand: Random, [low, high]: readonly [number, number]): number {
  return low + (high - low) * rand();
}

/**
 * Draws answers from the BKT generative model: per concept, true parameters (given, or drawn
 * uniformly from TRUE_PARAM_RANGES with the stream `<seed>:concept:<i>`); per learner and concept
 * (stream `<seed>:concept:<i>:learner:<j>`), the concept starts known with pInit; each answer is
 * correct with 1 − pSlip when known and pGuess when not; after each answer an unknown concept
 * becomes known with pLearn. Streams are separate so adding learners does not change the others.
 * Refuses (BAD_USER_INPUT) non-positive counts, more than MAX_SIMULATED_ANSWERS answers, or invalid
 * true parameters.
 */
export function simulateQuizData(options: SimulateQuizOptions): SimulatedQuizData {
  const { seed, learners, concepts, itemsPerLearner, trueParams } = options;
  if (typeof seed !== 'string') throw badInput('seed must be a string.', 'seed');
  checkCount(learners, 'learners');
  checkCount(concepts, 'concepts');
  checkCount(itemsPerLearner, 'itemsPerLearner');
  if (learners * concepts * itemsPerLearner > MAX_SIMULATED_ANSWERS) {
    throw badInput(`The simulation would have more than ${MAX_SIMULATED_ANSWERS} answers.`, 'learners');
  }
  if (trueParams !== undefined) {
    if (trueParams.length !== concepts) {
      throw badInput(`trueParams has ${trueParams.length} entries for ${concepts} concepts.`, 'trueParams');
    }
    trueParams.forEach(checkBktParams);
  }
  const out: SimulatedConcept[] = [];
  for (let i = 0; i < concepts; i++) {
    const draw = randomFromSeed(`${seed}:concept:${i}`);
    const given = trueParams?.[i];
    const params: BktParams = given
      ? { ...given }
      : {
          pInit: uniform(draw, TRUE_PARAM_RANGES.pInit),
          pLearn: uniform(draw, TRUE_PARAM_RANGES.pLearn),
          pSlip: uniform(draw, TRUE_PARAM_RANGES.pSlip),
          pGuess: uniform(draw, TRUE_PARAM_RANGES.pGuess),
        };
    const sequences: SimulatedSequence[] = [];
    for (let j = 0; j < learners; j++) {
      const rand = randomFromSeed(`${seed}:concept:${i}:learner:${j}`);
      let isKnown = rand() < params.pInit;
      const answers: boolean[] = [];
      const known: boolean[] = [];
      for (let t = 0; t < itemsPerLearner; t++) {
        known.push(isKnown);
        answers.push(rand() < (isKnown ? 1 - params.pSlip : params.pGuess));
        if (!isKnown) isKnown = rand() < params.pLearn;
      }
      sequences.push({ learnerId: `learner-${j}`, answers, known });
    }
    out.push({ conceptId: `concept-${i}`, trueParams: params, sequences });
  }
  return { seed, concepts: out };
}

/** Options of {@link evaluateBkt}. */
export interface EvaluateBktOptions {
  /** Share of each concept's learners (the first ones) used to fit; the rest are predicted. Default 0.5. */
  trainFraction?: number;
  /** Passed to {@link fitBkt}. */
  fit?: FitBktOptions;
}

/** Next-answer prediction quality: AUC and log loss (null when undefined, e.g. one class only). */
export interface PredictionScores {
  auc: number | null;
  logLoss: number | null;
}

/** What {@link evaluateBkt} returns. */
export interface BktEvaluation {
  bkt: PredictionScores;
  baseline: PredictionScores;
  /** Answers predicted (held-out learners × their answers). */
  predictions: number;
  /**
   * How well each estimate, taken before each answer, ranks the hidden state (known or not) that the
   * simulation recorded: AUC of BKT's P(known) and of the baseline's share correct.
   */
  hiddenStateAuc: { bkt: number | null; baseline: number | null };
  /** Per concept: the true and the fitted parameters, and whether the fit had enough data. */
  concepts: { conceptId: string; trueParams: BktParams; fittedParams: BktParams; fitted: boolean }[];
}

/**
 * Fits BKT per concept by EM on the first `trainFraction` of its learners, then for every other
 * learner predicts each answer before seeing it (predictCorrect from P(known), then updateMastery
 * with the answer, starting from the fitted pInit). The baseline predicts the learner's share of
 * correct answers so far on the concept with a prior of 0.5: (correct + 0.5) / (answers + 1), which
 * is 0.5 before the first answer (the Krichevsky–Trofimov estimator; the half pseudo-answer keeps
 * log loss finite after a first all-right or all-wrong start). Scores come from metrics.ts.
 */
export function evaluateBkt(data: SimulatedQuizData, options: EvaluateBktOptions = {}): BktEvaluation {
  const trainFraction = options.trainFraction ?? 0.5;
  if (!Number.isFinite(trainFraction) || trainFraction <= 0 || trainFraction >= 1) {
    throw badInput(`trainFraction is ${trainFraction}; it must be between 0 and 1 (exclusive).`, 'trainFraction');
  }
  const bkt: Prediction[] = [];
  const baseline: Prediction[] = [];
  const bktState: Prediction[] = [];
  const baselineState: Prediction[] = [];
  const concepts: BktEvaluation['concepts'] = [];
  for (const concept of data.concepts) {
    const cut = Math.floor(concept.sequences.length * trainFraction);
    const train = concept.sequences.slice(0, cut).map((s) => s.answers);
    const test = concept.sequences.slice(cut);
    const fit = fitBkt(train, options.fit);
    concepts.push({
      conceptId: concept.conceptId,
      trueParams: concept.trueParams,
      fittedParams: fit.params,
      fitted: fit.fitted,
    });
    for (const { answers, known } of test) {
      let pKnown = fit.params.pInit;
      let correctSoFar = 0;
      answers.forEach((correct, n) => {
        const y = correct ? 1 : 0;
        const share = (correctSoFar + 0.5) / (n + 1);
        bkt.push({ p: predictCorrect(pKnown, fit.params), y });
        baseline.push({ p: share, y });
        bktState.push({ p: pKnown, y: known[n] ? 1 : 0 });
        baselineState.push({ p: share, y: known[n] ? 1 : 0 });
        pKnown = updateMastery(pKnown, correct, fit.params);
        correctSoFar += y;
      });
    }
  }
  return {
    bkt: { auc: auc(bkt), logLoss: logLoss(bkt) },
    baseline: { auc: auc(baseline), logLoss: logLoss(baseline) },
    predictions: bkt.length,
    hiddenStateAuc: { bkt: auc(bktState), baseline: auc(baselineState) },
    concepts,
  };
}
