/**
 * Bayesian Knowledge Tracing (Corbett & Anderson 1995, "Knowledge tracing: Modeling the acquisition
 * of procedural knowledge", User Modeling and User-Adapted Interaction 4(4)): per learner and
 * concept, the probability that the concept is known, updated after every answer in constant time.
 *
 * The model is a two-state hidden Markov model: a concept is unknown or known; it starts known with
 * `pInit`; after each opportunity an unknown concept becomes known with `pLearn` (no forgetting); a
 * known concept is answered wrongly with `pSlip`, an unknown one rightly with `pGuess`.
 */
import { badInput } from '@coursegraph/service-kit';

/** The four BKT parameters of one concept, each a probability (0..1). */
export interface BktParams {
  /** P(L0): the concept is known before the first answer. */
  pInit: number;
  /** P(T): an unknown concept becomes known after one opportunity (answer or review). */
  pLearn: number;
  /** P(S): a learner who knows the concept still answers wrongly. Below 0.5 (see {@link MAX_SLIP_OR_GUESS}). */
  pSlip: number;
  /** P(G): a learner who does not know the concept answers rightly anyway. Below 0.5. */
  pGuess: number;
}

/**
 * Parameters used for a concept until it has enough answers to fit its own (see bkt-fit.ts).
 *
 * - `pSlip` 0.1 and `pGuess` 0.2: Corbett & Anderson (1995) bounded fitted slip at 0.1 and guess at
 *   0.3 (as recalled by Baker, Corbett & Aleven 2008, "More accurate student modeling through
 *   contextual estimation of slip and guess probabilities in BKT", ITS 2008); 0.2 is also the chance
 *   rate of a single-choice item with five options, the commonest closed item here.
 * - `pInit` 0.3: a course's concepts are mostly new to its learners, but not to all of them; fitted
 *   P(L0) values in the literature spread widely (Pardos & Heffernan 2010, "Navigating the parameter
 *   space of Bayesian Knowledge Tracing models"), so the prior leans "unknown" without ruling out
 *   prior knowledge.
 * - `pLearn` 0.1: a modest gain per opportunity, in the range of fitted P(T) for tutor skills
 *   (Corbett & Anderson 1995; Baker et al. 2008). With these values, three correct answers in a row
 *   from scratch take mastery past {@link MASTERY_THRESHOLD}.
 */
export const BKT_PRIORS: Readonly<BktParams> = Object.freeze({ pInit: 0.3, pLearn: 0.1, pSlip: 0.1, pGuess: 0.2 });

/**
 * P(known) at or above which a concept counts as mastered: 0.95, the mastery criterion of the
 * Cognitive Tutors (Corbett & Anderson 1995), used since by most BKT-driven mastery learning.
 */
export const MASTERY_THRESHOLD = 0.95;

/**
 * Slip and guess must stay strictly below 0.5: otherwise "known" can predict worse answers than
 * "unknown" and the model's states swap meaning (the degenerate "model 2" solutions of Baker,
 * Corbett & Aleven 2008; Beck & Chang 2007 on identifiability). Fitting caps them at 0.45 so a known
 * learner is always at least 10 points likelier to answer rightly than an unknown one.
 */
export const MAX_SLIP_OR_GUESS = 0.5;

/** Scores at or above this count as a correct answer where a yes/no is needed (fitting sequences). */
export const SCORE_CORRECT_THRESHOLD = 0.5;

/** A flashcard review's rating, as the review path names it. */
export type ReviewRating = 'AGAIN' | 'HARD' | 'GOOD' | 'EASY';

function checkProbability(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw badInput(`${name} is ${String(value)}; it must be a probability between 0 and 1.`, name);
  }
}

/**
 * Refuses (BAD_USER_INPUT) parameters that are not probabilities, or a slip or guess that is not
 * strictly between 0 and 0.5 (0 would make one answer decisive forever; 0.5 or more is degenerate).
 */
export function checkBktParams(params: BktParams): void {
  if (typeof params !== 'object' || params === null) throw badInput('BKT parameters are missing.', 'params');
  checkProbability(params.pInit, 'pInit');
  checkProbability(params.pLearn, 'pLearn');
  for (const name of ['pSlip', 'pGuess'] as const) {
    const value = params[name];
    checkProbability(value, name);
    if (value <= 0 || value >= MAX_SLIP_OR_GUESS) {
      throw badInput(`${name} is ${value}; it must be above 0 and below ${MAX_SLIP_OR_GUESS}.`, name);
    }
  }
}

/** P(the next answer is correct) given P(known): known and no slip, or unknown and a guess. */
export function predictCorrect(pKnown: number, params: BktParams): number {
  checkProbability(pKnown, 'pKnown');
  checkBktParams(params);
  return pKnown * (1 - params.pSlip) + (1 - pKnown) * params.pGuess;
}

/**
 * The learning transition after an opportunity: known stays known, unknown becomes known with pLearn.
 */
function learn(posterior: number, params: BktParams): number {
  return posterior + (1 - posterior) * params.pLearn;
}

/**
 * P(known) after one answer: Bayes' rule on the observation (correct or not), then the learning
 * transition. Constant time. Refuses (BAD_USER_INPUT) a pKnown outside [0, 1] or invalid params.
 */
export function updateMastery(pKnown: number, correct: boolean, params: BktParams): number {
  if (typeof correct !== 'boolean')
    throw badInput(`correct is ${String(correct)}; it must be true or false.`, 'correct');
  return weightedUpdate(pKnown, correct ? 1 : 0, params);
}

/**
 * P(known) after an answer with partial credit `score` (0..1), then the learning transition.
 *
 * The score is taken as soft ("virtual") evidence (Pearl 1988, Probabilistic Reasoning in
 * Intelligent Systems, 2.2.2): the answer is seen as "correct" with likelihood `score` and "wrong"
 * with `1 - score`, so P(evidence | known) = score·(1−slip) + (1−score)·slip and P(evidence |
 * unknown) = score·guess + (1−score)·(1−guess). It is a proper Bayes update: score 1 and 0 give
 * exactly {@link updateMastery}'s correct and wrong updates, higher scores never lower the result,
 * and 0.5 carries no evidence (only the learning transition applies). Rounding a 0.55 up to fully
 * correct would claim more than the learner showed. Refuses (BAD_USER_INPUT) a score outside [0, 1].
 */
export function weightedUpdate(pKnown: number, score: number, params: BktParams): number {
  checkProbability(pKnown, 'pKnown');
  checkProbability(score, 'score');
  checkBktParams(params);
  const { pSlip, pGuess } = params;
  const likelihoodKnown = score * (1 - pSlip) + (1 - score) * pSlip;
  const likelihoodUnknown = score * pGuess + (1 - score) * (1 - pGuess);
  // Both likelihoods are ≥ min(slip, guess) > 0 because slip and guess are in (0, 0.5): no 0/0.
  const evidence = pKnown * likelihoodKnown + (1 - pKnown) * likelihoodUnknown;
  return learn((pKnown * likelihoodKnown) / evidence, params);
}

/**
 * Whether a flashcard review counts as a correct answer for mastery: AGAIN is a miss (the card was
 * forgotten); HARD, GOOD and EASY all mean it was recalled.
 */
export function reviewIsCorrect(rating: ReviewRating): boolean {
  switch (rating) {
    case 'AGAIN':
      return false;
    case 'HARD':
    case 'GOOD':
    case 'EASY':
      return true;
    default:
      throw badInput(`rating is ${String(rating)}; it must be AGAIN, HARD, GOOD or EASY.`, 'rating');
  }
}

/** P(known) after a flashcard review: {@link updateMastery} with {@link reviewIsCorrect}. */
export function updateMasteryFromReview(pKnown: number, rating: ReviewRating, params: BktParams): number {
  return updateMastery(pKnown, reviewIsCorrect(rating), params);
}

/**
 * A partial score as a yes/no, for building the boolean answer sequences that fitting needs:
 * correct when score ≥ {@link SCORE_CORRECT_THRESHOLD} (0.5). Refuses a score outside [0, 1].
 */
export function scoreIsCorrect(score: number): boolean {
  checkProbability(score, 'score');
  return score >= SCORE_CORRECT_THRESHOLD;
}

/** Whether P(known) reaches {@link MASTERY_THRESHOLD}. */
export function isMastered(pKnown: number): boolean {
  return pKnown >= MASTERY_THRESHOLD;
}
