/**
 * The BKT fitting job against a database of its own: answers simulated from BKT's generative model
 * (bkt-simulation.ts) are stored as mastery_observations; a concept with enough of them gets fitted
 * parameters, one with too few keeps the priors (count stored), one under the refit amount is left
 * alone, and a second run refits nothing until the answers grow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import { BKT_PRIORS } from '../../src/domain/mastery/bkt.js';
import { fitBkt, MIN_OBSERVATIONS_FOR_FIT, MIN_SEQUENCES_FOR_FIT } from '../../src/domain/mastery/bkt-fit.js';
import { simulateQuizData, type SimulatedConcept } from '../../src/domain/mastery/bkt-simulation.js';
import { runBktFits } from '../../src/workers/bkt-fitting.js';
import { silent, startHarness, type WorkersHarness } from './harness.js';

let h: WorkersHarness;
const now = new Date();
/** The concept that had too few learners in the first run. */
let thinConceptId: string;

/** Stores a simulated concept's answers as observations, learner by learner in answer order; returns the concept id and its sequences. */
async function storeConcept(
  concept: SimulatedConcept,
  conceptId = newId(),
): Promise<{ conceptId: string; sequences: boolean[][] }> {
  const rows = concept.sequences.flatMap((s) => {
    const userId = newId();
    return s.answers.map((correct, i) => ({ userId, conceptId, correct, observedAt: new Date(now.getTime() + i) }));
  });
  await h.db.masteryObservation.createMany({ data: rows });
  return { conceptId, sequences: concept.sequences.map((s) => s.answers) };
}

beforeAll(async () => {
  h = await startHarness('bkt_fitting');
});
afterAll(async () => {
  await h?.close();
});

describe('the BKT fitting job', () => {
  it('fits a concept with enough answers, keeps the priors for one with too few, and skips one under the refit amount', async () => {
    const minNew = h.config.bktRefitMinNew;
    const [rich] = simulateQuizData({ seed: 'bkt-rich', learners: 80, concepts: 1, itemsPerLearner: 8 }).concepts;
    // Fewer learners than fitting needs, but more answers than a run looks at.
    const fewLearners = MIN_SEQUENCES_FOR_FIT - 20;
    const [thin] = simulateQuizData({
      seed: 'bkt-thin',
      learners: fewLearners,
      concepts: 1,
      itemsPerLearner: Math.ceil(minNew / fewLearners) + 1,
    }).concepts;
    const [tiny] = simulateQuizData({ seed: 'bkt-tiny', learners: 3, concepts: 1, itemsPerLearner: 2 }).concepts;
    const a = await storeConcept(rich!);
    const b = await storeConcept(thin!);
    const c = await storeConcept(tiny!);
    thinConceptId = b.conceptId;
    const answers = (x: { sequences: boolean[][] }) => x.sequences.flat().length;
    expect(answers(a)).toBeGreaterThanOrEqual(MIN_OBSERVATIONS_FOR_FIT);
    expect(answers(b)).toBeGreaterThanOrEqual(minNew);
    expect(answers(c)).toBeLessThan(minNew);

    const result = await runBktFits(h.db, { minNew, batch: h.config.bktFitBatch, now, logger: silent });
    expect(result).toEqual({ fitted: 1, priors: 1 });

    const fittedRow = await h.db.conceptModel.findUniqueOrThrow({ where: { conceptId: a.conceptId } });
    const expected = fitBkt(a.sequences).params;
    expect(fittedRow).toMatchObject({ fitted: true, observations: answers(a), fittedAt: now });
    expect(fittedRow.pInit).toBeCloseTo(expected.pInit, 6);
    expect(fittedRow.pLearn).toBeCloseTo(expected.pLearn, 6);
    expect(fittedRow.pSlip).toBeCloseTo(expected.pSlip, 6);
    expect(fittedRow.pGuess).toBeCloseTo(expected.pGuess, 6);
    expect(fittedRow.pInit).not.toBe(BKT_PRIORS.pInit);

    const priorsRow = await h.db.conceptModel.findUniqueOrThrow({ where: { conceptId: b.conceptId } });
    expect(priorsRow).toMatchObject({ ...BKT_PRIORS, fitted: false, observations: answers(b), fittedAt: now });
    expect(await h.db.conceptModel.findUnique({ where: { conceptId: c.conceptId } })).toBeNull();
  });

  it('refits nothing until a concept’s answers grow by the refit amount, then fits it', async () => {
    const before = await h.db.conceptModel.findMany({ orderBy: { conceptId: 'asc' } });
    const later = new Date(now.getTime() + 60_000);
    const result = await runBktFits(h.db, {
      minNew: h.config.bktRefitMinNew,
      batch: h.config.bktFitBatch,
      now: later,
      logger: silent,
    });
    expect(result).toEqual({ fitted: 0, priors: 0 });
    expect(await h.db.conceptModel.findMany({ orderBy: { conceptId: 'asc' } })).toEqual(before);

    // Enough new learners on the thin concept: the next run fits it from all of its answers.
    const [more] = simulateQuizData({ seed: 'bkt-more', learners: 40, concepts: 1, itemsPerLearner: 8 }).concepts;
    await storeConcept(more!, thinConceptId);
    const third = await runBktFits(h.db, {
      minNew: h.config.bktRefitMinNew,
      batch: h.config.bktFitBatch,
      now: later,
      logger: silent,
    });
    expect(third).toEqual({ fitted: 1, priors: 0 });
    const row = await h.db.conceptModel.findUniqueOrThrow({ where: { conceptId: thinConceptId } });
    const all = await h.db.masteryObservation.count({ where: { conceptId: thinConceptId } });
    expect(row).toMatchObject({ fitted: true, observations: all, fittedAt: later });
  });
});
