import { commonSettings, databasePasswordProblem, jwksSetting, parse, type ConfigOf } from '@coursegraph/service-kit';

/** Learning's settings, read once at start-up (see README: Configuration). */
export const learningSettings = {
  ...commonSettings,
  ...jwksSetting,
  port: { env: 'LEARNING_PORT', default: 4006, parse: parse.port, doc: 'HTTP port of the learning subgraph' },
  databaseUrl: {
    env: 'LEARNING_DATABASE_URL',
    default: 'postgres://cg_learning:cg_learning_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "learning's own PostgreSQL role and database",
  },
  clockHeader: {
    env: 'CLOCK_HEADER',
    default: false,
    parse: parse.boolean,
    productionCheck: (on: boolean) =>
      on ? 'CLOCK_HEADER lets callers choose the time of reviews and attempts: never in production' : undefined,
    doc: 'read "now" from the x-coursegraph-clock request header (tests and simulations move time through the gateway); never in production',
  },
  optimizeCheckMs: {
    env: 'FSRS_OPTIMIZE_CHECK_MS',
    default: 60_000,
    parse: parse.positiveInt,
    doc: 'how often learning looks for learners whose reviews have grown enough to optimise their FSRS parameters again',
  },
  reoptimizeGrowth: {
    env: 'FSRS_REOPTIMIZE_GROWTH',
    // ×1.5: fitted weights move with ~1/√n of the data, so 50% more reviews is the least that
    // changes them noticeably, and the runs per learner grow only logarithmically with their reviews.
    default: 1.5,
    parse: growthFactor,
    doc: 'a learner is optimised again once their reviews reach this multiple of the count at the last optimisation (more than 1)',
  },
  optimizeScanBatch: {
    env: 'FSRS_OPTIMIZE_SCAN_BATCH',
    default: 500,
    parse: parse.positiveInt,
    doc: 'most optimisation jobs one scan publishes to the LEARNING_JOBS work queue (the rest wait for the next scan)',
  },
  optimizeMaxDeliver: {
    env: 'FSRS_OPTIMIZE_MAX_DELIVER',
    default: 3,
    parse: parse.positiveInt,
    doc: "tries of one learner's optimisation job before it is given up (logged; retried once their reviews grow again)",
  },
  rescheduleChunk: {
    env: 'FSRS_RESCHEDULE_CHUNK',
    default: 500,
    parse: parse.positiveInt,
    doc: 'review cards rescheduled per transaction after a learner’s FSRS parameters change',
  },
  bktFitCheckMs: {
    env: 'BKT_FIT_CHECK_MS',
    default: 600_000,
    parse: parse.positiveInt,
    doc: 'how often learning fits the BKT parameters of concepts whose answers have grown (see BKT_REFIT_MIN_NEW_OBSERVATIONS)',
  },
  bktRefitMinNew: {
    env: 'BKT_REFIT_MIN_NEW_OBSERVATIONS',
    // EM over every answer of a concept: 50 new answers, and at least 10% more than the last fit,
    // keeps a large concept from being refitted for a change that cannot move its parameters.
    default: 50,
    parse: parse.positiveInt,
    doc: 'a concept is fitted again once it has this many new answers and at least 10% more than at its last fit',
  },
  bktFitBatch: {
    env: 'BKT_FIT_BATCH',
    default: 100,
    parse: parse.positiveInt,
    doc: 'most concepts fitted in one run of the BKT job (the rest wait for the next run)',
  },
  cardsDueCheckMs: {
    env: 'CARDS_DUE_CHECK_MS',
    default: 900_000,
    parse: parse.positiveInt,
    doc: 'how often learning looks for learners with cards to study today who have not had their learning.cards.due yet',
  },
  cardsDueBatch: {
    env: 'CARDS_DUE_BATCH',
    default: 1000,
    parse: parse.positiveInt,
    doc: 'most learners examined by one run of the cards-due job (the next run goes on from the last one)',
  },
};

/** A growth factor above 1 (e.g. 1.5). */
function growthFactor(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 1 || n > 100) throw new Error('expected a number above 1 (e.g. 1.5) and at most 100');
  return n;
}

export type LearningConfig = ConfigOf<typeof learningSettings>;
