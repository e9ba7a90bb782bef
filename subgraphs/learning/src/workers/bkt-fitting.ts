/**
 * The BKT fitting job: for each concept whose answers (mastery_observations) have grown by at least
 * `minNew` and by 10% since its last fit, EM fits its parameters from every learner's answers in
 * order (fitBkt) and stores them in concept_models. Under fitBkt's minimums (MIN_SEQUENCES_FOR_FIT
 * learners, MIN_OBSERVATIONS_FOR_FIT answers) the priors are stored with `fitted: false` and the
 * count, so the next run knows where it stood. Mastery updates read concept_models (data/mastery.ts).
 *
 * Replicas may fit the same concept at once: the result depends only on the answers read, and a
 * write never replaces a fit made from more answers.
 */
import type { Logger } from '@coursegraph/service-kit';
import type { PrismaClient } from '../data/db.js';
import { fitBkt } from '../domain/mastery/bkt-fit.js';

/** A concept is refitted only once its answers have grown by this factor too (besides `minNew`). */
export const BKT_REFIT_GROWTH = 1.1;

export interface BktFitOptions {
  /** New answers needed since the last fit. */
  minNew: number;
  /** Most concepts per run. */
  batch: number;
  now: Date;
  logger: Logger;
}

/** Concepts due a fit, with their answer counts: never fitted first, then the most grown. */
export async function conceptsToFit(
  db: PrismaClient,
  options: Pick<BktFitOptions, 'minNew' | 'batch'>,
): Promise<{ conceptId: string; observations: number }[]> {
  const rows = await db.$queryRaw<{ concept_id: string; n: number }[]>`
    select o.concept_id::text as concept_id, o.n
      from (select concept_id, count(*)::int as n from mastery_observations group by concept_id) o
      left join concept_models m on m.concept_id = o.concept_id
     where o.n >= coalesce(m.observations, 0) + ${options.minNew}
       and o.n >= coalesce(m.observations, 0) * ${BKT_REFIT_GROWTH}::float8
     order by m.observations nulls first, o.n - coalesce(m.observations, 0) desc, o.concept_id
     limit ${options.batch}`;
  return rows.map((r) => ({ conceptId: r.concept_id, observations: r.n }));
}

/** Every learner's answers on the concept, each in the order given (observation id). */
async function sequencesOf(db: PrismaClient, conceptId: string): Promise<boolean[][]> {
  const rows = await db.$queryRaw<{ user_id: string; correct: boolean }[]>`
    select user_id::text as user_id, correct from mastery_observations
     where concept_id = ${conceptId}::uuid order by user_id, id`;
  const sequences: boolean[][] = [];
  let user: string | null = null;
  for (const row of rows) {
    if (row.user_id !== user) {
      sequences.push([]);
      user = row.user_id;
    }
    sequences[sequences.length - 1]!.push(row.correct);
  }
  return sequences;
}

/** One concept: fit and store. Returns whether its parameters are fitted (false: the priors, too little data). */
export async function fitConcept(
  db: PrismaClient,
  conceptId: string,
  now: Date,
): Promise<{ fitted: boolean; observations: number }> {
  const sequences = await sequencesOf(db, conceptId);
  const observations = sequences.reduce((n, s) => n + s.length, 0);
  const { params, fitted } = fitBkt(sequences);
  await db.$executeRaw`
    insert into concept_models (concept_id, p_init, p_learn, p_slip, p_guess, fitted, observations, fitted_at)
    values (${conceptId}::uuid, ${params.pInit}, ${params.pLearn}, ${params.pSlip}, ${params.pGuess}, ${fitted},
            ${observations}, ${now})
    on conflict (concept_id) do update
       set p_init = excluded.p_init, p_learn = excluded.p_learn, p_slip = excluded.p_slip, p_guess = excluded.p_guess,
           fitted = excluded.fitted, observations = excluded.observations, fitted_at = excluded.fitted_at
     where concept_models.observations <= excluded.observations`;
  return { fitted, observations };
}

/** One run: fits up to `batch` concepts; returns how many were stored with fitted parameters and with priors. */
export async function runBktFits(
  db: PrismaClient,
  options: BktFitOptions,
): Promise<{ fitted: number; priors: number }> {
  const due = await conceptsToFit(db, options);
  const result = { fitted: 0, priors: 0 };
  for (const { conceptId } of due) {
    const { fitted, observations } = await fitConcept(db, conceptId, options.now);
    if (fitted) result.fitted++;
    else result.priors++;
    options.logger.info(
      { conceptId, observations, fitted },
      fitted ? 'bkt parameters fitted' : 'bkt priors kept (too little data)',
    );
  }
  return result;
}
