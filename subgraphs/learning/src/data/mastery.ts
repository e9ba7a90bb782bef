/**
 * Mastery as stored: each answer or review tagged with concepts moves the learner's estimate for
 * each concept by one BKT step (constant time), is kept as an observation for fitting, and announces
 * learning.mastery.changed when the estimate crosses the mastery threshold either way.
 */
import { LearningEvents } from '@coursegraph/contracts';
import { enqueueEvent, type EnqueueOptions } from '@coursegraph/service-kit';
import type { Tx } from './db.js';
import { BKT_PRIORS, isMastered, weightedUpdate, type BktParams } from '../domain/mastery/bkt.js';

const CONTEXT = 'learning';

export interface Observation {
  userId: string;
  courseId: string;
  conceptIds: readonly string[];
  /** 0..1: an item's score, or 1/0 for a recalled/forgotten card. */
  score: number;
  at: Date;
}

/** The concept's fitted parameters, or the priors until it has enough data. */
async function paramsOf(tx: Tx, conceptIds: readonly string[]): Promise<Map<string, BktParams>> {
  const rows = await tx.conceptModel.findMany({ where: { conceptId: { in: [...conceptIds] } } });
  return new Map(
    rows.map((r) => [r.conceptId, { pInit: r.pInit, pLearn: r.pLearn, pSlip: r.pSlip, pGuess: r.pGuess }]),
  );
}

export async function observe(tx: Tx, o: Observation, options: EnqueueOptions = {}): Promise<void> {
  const conceptIds = [...new Set(o.conceptIds)];
  if (conceptIds.length === 0) return;
  const params = await paramsOf(tx, conceptIds);
  const current = new Map(
    (
      await tx.$queryRaw<{ concept_id: string; p_known: number; mastered: boolean }[]>`
        select concept_id, p_known, mastered from mastery
         where user_id = ${o.userId}::uuid and concept_id = any(${conceptIds}::uuid[]) for update`
    ).map((r) => [r.concept_id, r]),
  );
  for (const conceptId of conceptIds) {
    const p = params.get(conceptId) ?? BKT_PRIORS;
    const before = current.get(conceptId);
    const pKnown = weightedUpdate(before?.p_known ?? p.pInit, o.score, p);
    const mastered = isMastered(pKnown);
    await tx.$executeRaw`
      insert into mastery (user_id, concept_id, course_id, p_known, mastered, observations, updated_at)
      values (${o.userId}::uuid, ${conceptId}::uuid, ${o.courseId}::uuid, ${pKnown}, ${mastered}, 1, ${o.at})
      on conflict (user_id, concept_id) do update
         set p_known = excluded.p_known, mastered = excluded.mastered,
             observations = mastery.observations + 1, updated_at = excluded.updated_at`;
    await tx.masteryObservation.create({
      data: { userId: o.userId, conceptId, correct: o.score >= 0.5, observedAt: o.at },
    });
    if (mastered !== (before?.mastered ?? false)) {
      await enqueueEvent(
        tx,
        CONTEXT,
        LearningEvents.masteryChanged,
        {
          userId: o.userId,
          courseId: o.courseId,
          conceptId,
          pKnown,
          mastered,
          changedAt: o.at.toISOString(),
        },
        options,
      );
    }
  }
}
