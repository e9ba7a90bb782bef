#!/usr/bin/env node
// Learning evaluation (npm run bench:learning): how well the schedulers predict recall, how well
// mastery predicts answers, and how fast the review path, the optimiser and the gradebook are.
// Runs in-process against a database of its own (coursegraph_bench_learning, learning's schema
// migrated) through learning's real domain code: the same reviewCard and reviewQueue the
// resolvers call, with the simulated clock passed in as "now".
//
//   sm2, fsrs-default, fsrs-optimized  BENCH_LEARNERS simulated learners (memory follows FSRS-6
//        with per-learner true parameters away from the defaults; BENCH_CONCURRENCY at a time)
//        review BENCH_CARDS cards over BENCH_DAYS days through reviewCard/reviewQueue. Each learner's last 20% of reviews (by
//        time) are held out; on them: log loss, RMSE(bins) and AUC of SM-2 (0.9^(t/I)), FSRS-6
//        with default parameters, and FSRS-6 with parameters optimised (fsrs-rs) on the first 80%.
//        share_beats_default: of learners with >= 400 reviews, those whose optimised log loss is
//        lower than the default's.
//   bkt, baseline  simulated quiz answers with known mastery: AUC of BKT (EM-fitted per concept on
//        half the learners) predicting each next answer of the other half, against the running
//        share correct.
//   review-path  one learner with BENCH_DECK cards (20,000): p50/p99 and CPU per call of answering
//        a review and of fetching the due queue.
//   optimizer  seconds of fsrs-rs per 10,000 reviews, over the simulated learners' reviews.
//   gradebook  BENCH_GRADEBOOK learners (10,000) with attempts at one quiz: seconds to recompute
//        every grade after a grading-policy change (median of 5).
// Needs `npm run build` and PostgreSQL (node scripts/stack.mjs up). Writes
// test/bench/results/learning.json and learning.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { ROOT, contextDatabaseUrl } from '../../scripts/lib/env.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  learners: Number(env('BENCH_LEARNERS', 16)),
  concurrency: Number(env('BENCH_CONCURRENCY', 4)),
  cards: Number(env('BENCH_CARDS', 600)),
  days: Number(env('BENCH_DAYS', 75)),
  new_per_day: 20,
  reviews_per_day: 200,
  deck: Number(env('BENCH_DECK', 20_000)),
  review_path_samples: Number(env('BENCH_SAMPLES', 300)),
  gradebook_learners: Number(env('BENCH_GRADEBOOK', 10_000)),
  database: env('BENCH_DATABASE', 'coursegraph_bench_learning'),
};
process.env.POSTGRES_DB = SETTINGS.database;

const { bootstrap, deploy } = await import('../../scripts/prisma.mjs');
const { dropDatabase } = await import('./lib/platform.mjs');
const { percentile, round } = await import('./lib/measure.mjs');
const dist = (file) => path.join(ROOT, 'subgraphs/learning/dist', file);
for (const file of ['domain/reviews.js', 'data/grades.js'])
  if (!fs.existsSync(dist(file))) throw new Error(`missing ${dist(file)}: run npm run build`);
const { createDb } = await import(dist('data/db.js'));
const { reviewCard, reviewQueue } = await import(dist('domain/reviews.js'));
const { recomputeGrades } = await import(dist('data/grades.js'));
const { simulateLearner } = await import(dist('domain/scheduling/simulator.js'));
const {
  splitHeldOut,
  fsrsPredictions,
  sm2Predictions,
  optimizeParameters,
  countReviews,
  MIN_REVIEWS_FOR_OPTIMIZATION,
} = await import(dist('domain/scheduling/optimizer.js'));
const { DEFAULT_PARAMS } = await import(dist('domain/scheduling/scheduler.js'));
const { logLoss, rmseBins, auc } = await import(dist('domain/metrics.js'));
const { simulateQuizData, evaluateBkt } = await import(dist('domain/mastery/bkt-simulation.js'));

const log = (...args) => console.log('bench:learning:', ...args);
const START = new Date('2031-01-06T09:00:00.000Z');

await dropDatabase(SETTINGS.database);
await bootstrap({ database: SETTINGS.database });
deploy({ quiet: true, database: SETTINGS.database });
const db = createDb(contextDatabaseUrl('learning', SETTINGS.database), SETTINGS.concurrency * 2);

const COURSE = randomUUID();
await db.course.create({
  data: { id: COURSE, instructorId: randomUUID(), title: 'Bench', free: true, publishedVersion: 1 },
});

/**
 * Ids derived from names: card ids seed FSRS's fuzz, so random ids would make every run schedule
 * (and score) differently; these make a run repeatable.
 */
const idFor = (name) => {
  const h = createHash('sha256').update(`bench-learning:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** A learner with access to the bench course and the simulator's daily limits. */
async function newLearner(name = randomUUID()) {
  const userId = idFor(`learner:${name}`);
  await db.enrolment.create({ data: { userId, courseId: COURSE, mode: 'FREE', active: true, eventSequence: 1 } });
  await db.learnerSettings.create({
    data: { userId, newPerDay: SETTINGS.new_per_day, reviewsPerDay: SETTINGS.reviews_per_day },
  });
  return { userId, ctx: { viewer: { userId, role: 'LEARNER', sessionId: 'bench', issuedAtMs: 0 } } };
}

/** The simulator's ReviewPath over learning's real review code and database. */
function databasePath({ userId, ctx }) {
  const versions = new Map();
  let position = 0;
  let made = 0;
  return {
    async addCards(count, now) {
      const rows = Array.from({ length: count }, () => ({
        id: idFor(`card:${userId}:${made}`),
        userId,
        courseId: COURSE,
        source: 'NOTE',
        sourceId: idFor(`note:${userId}:${made++}`),
        position: position++,
        due: now,
      }));
      await db.card.createMany({ data: rows });
      for (const r of rows) versions.set(r.id, 0);
      return rows.map((r) => r.id);
    },
    async due(now, reviewLimit) {
      const q = await reviewQueue(db, ctx, COURSE, 200, now);
      const learning = q.cards.filter((c) => c.state === 'LEARNING' || c.state === 'RELEARNING');
      const reviews = q.cards.filter((c) => c.state === 'REVIEW').slice(0, reviewLimit);
      return [...learning, ...reviews].map((c) => ({ cardId: c.id, state: c.state, due: c.due }));
    },
    async newCards(now, limit) {
      const q = await reviewQueue(db, ctx, COURSE, 200, now);
      return q.cards
        .filter((c) => c.state === 'NEW')
        .slice(0, limit)
        .map((c) => ({ cardId: c.id }));
    },
    async review(cardId, rating, now) {
      const version = versions.get(cardId) ?? 0;
      const res = await reviewCard(db, ctx, { cardId, rating, version }, now, {});
      versions.set(cardId, res.card.version);
      return { predictedRecall: res.retrievability };
    },
  };
}

// ---- Recall prediction: sm2, fsrs-default, fsrs-optimized ----
const pooled = { sm2: [], default: [], optimized: [] };
/** Per learner: [held-out reviews, RMSE(bins)] of each model, for the srs-benchmark's weighted mean. */
const perLearnerRmse = { sm2: [], default: [], optimized: [] };
let eligible = 0;
let beats = 0;
let optimizerSeconds = 0;
let optimizerReviews = 0;
let simulatedReviews = 0;
const simStarted = Date.now();
/** One simulated learner through the database path, then its held-out evaluation. */
async function runLearner(i) {
  const learner = await newLearner(`simulated-${i}`);
  const sim = await simulateLearner({
    seed: `bench-learner-${i}`,
    cards: SETTINGS.cards,
    days: SETTINGS.days,
    newPerDay: SETTINGS.new_per_day,
    reviewsPerDay: SETTINGS.reviews_per_day,
    start: START,
    path: databasePath(learner),
  });
  simulatedReviews += sim.reviews.length;
  const { train, heldOut } = splitHeldOut(sim.histories, 0.2);
  const fsrsDefault = fsrsPredictions(DEFAULT_PARAMS, heldOut);
  const sm2 = sm2Predictions(heldOut);
  const reviews = countReviews(sim.histories);
  let optimized = fsrsDefault;
  if (countReviews(train) >= MIN_REVIEWS_FOR_OPTIMIZATION) {
    const t0 = process.hrtime.bigint();
    const params = await optimizeParameters(train);
    optimizerSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
    optimizerReviews += countReviews(train);
    optimized = fsrsPredictions(params, heldOut);
  }
  pooled.sm2.push(...sm2);
  pooled.default.push(...fsrsDefault);
  pooled.optimized.push(...optimized);
  for (const [model, preds] of [
    ['sm2', sm2],
    ['default', fsrsDefault],
    ['optimized', optimized],
  ])
    if (preds.length) perLearnerRmse[model].push([preds.length, rmseBins(preds) ?? NaN]);
  if (reviews >= 400) {
    eligible += 1;
    if ((logLoss(optimized) ?? Infinity) < (logLoss(fsrsDefault) ?? Infinity)) beats += 1;
  }
  log(
    `learner ${i + 1}/${SETTINGS.learners}: ${reviews} reviews, held out ${fsrsDefault.length}; log loss default ${round(logLoss(fsrsDefault) ?? NaN, 4)} optimised ${round(logLoss(optimized) ?? NaN, 4)}`,
  );
}
// Learners run BENCH_CONCURRENCY at a time: the path waits on the database, not on this process.
let next = 0;
await Promise.all(
  Array.from({ length: SETTINGS.concurrency }, async () => {
    while (next < SETTINGS.learners) await runLearner(next++);
  }),
);
const simSeconds = (Date.now() - simStarted) / 1000;
// RMSE(bins) as the srs-benchmark reports it: per learner (bins by interval, reviews and lapses),
// then the mean weighted by each learner's held-out reviews; the pooled figure is beside it.
const weightedRmse = (rows) => rows.reduce((sum, [n, r]) => sum + n * r, 0) / rows.reduce((sum, [n]) => sum + n, 0);
const quality = (model) => ({
  log_loss: round(logLoss(pooled[model]) ?? NaN, 4),
  rmse_bins: round(weightedRmse(perLearnerRmse[model]), 4),
  rmse_bins_pooled: round(rmseBins(pooled[model]) ?? NaN, 4),
  auc: round(auc(pooled[model]) ?? NaN, 4),
  held_out_reviews: pooled[model].length,
});

// ---- Mastery: bkt against a running average ----
const bktEval = evaluateBkt(simulateQuizData({ seed: 'bench-bkt', learners: 1000, concepts: 8, itemsPerLearner: 10 }));
log(`bkt auc ${round(bktEval.bkt.auc, 4)}, running average ${round(bktEval.baseline.auc, 4)}`);

// ---- The review path with a deck of BENCH_DECK cards ----
const big = await newLearner();
await db.learnerSettings.update({
  where: { userId: big.userId },
  data: { newPerDay: 20, reviewsPerDay: 9999 },
});
const NOW = new Date('2031-06-02T10:00:00.000Z');
const DAY = 86_400_000;
for (let done = 0; done < SETTINGS.deck; done += 5000) {
  const rows = Array.from({ length: Math.min(5000, SETTINGS.deck - done) }, (_, k) => {
    const n = done + k;
    const isNew = n % 5 === 0;
    // Review cards due from 60 days ago to 300 days ahead; about 1 in 6 are due today or earlier.
    const due = new Date(NOW.getTime() + ((n * 7919) % 360) * DAY - 60 * DAY);
    const stability = 2 + ((n * 31) % 200);
    return {
      id: randomUUID(),
      userId: big.userId,
      courseId: COURSE,
      source: 'NOTE',
      sourceId: randomUUID(),
      position: n,
      state: isNew ? 'NEW' : 'REVIEW',
      due: isNew ? NOW : due,
      stability: isNew ? 0 : stability,
      difficulty: isNew ? 0 : 3 + (n % 6),
      scheduledDays: isNew ? 0 : stability,
      reps: isNew ? 0 : 3 + (n % 9),
      lastReview: isNew ? null : new Date(due.getTime() - stability * DAY),
    };
  });
  await db.card.createMany({ data: rows });
  log(`deck: ${done + rows.length}/${SETTINGS.deck} cards`);
}
await db.$executeRawUnsafe('analyze');
const timings = { review: [], queue: [] };
const cpu = { review: 0, queue: 0 };
const ratings = ['AGAIN', 'HARD', 'GOOD', 'EASY'];
for (let s = 0; s < SETTINGS.review_path_samples; s++) {
  const at = new Date(NOW.getTime() + s * 1000);
  let c0 = process.cpuUsage();
  let t0 = process.hrtime.bigint();
  const q = await reviewQueue(db, big.ctx, null, 20, at);
  timings.queue.push(Number(process.hrtime.bigint() - t0) / 1e6);
  let used = process.cpuUsage(c0);
  cpu.queue += (used.user + used.system) / 1000;
  const card = q.cards[s % q.cards.length];
  c0 = process.cpuUsage();
  t0 = process.hrtime.bigint();
  await reviewCard(db, big.ctx, { cardId: card.id, rating: ratings[s % 4], version: card.version }, at, {});
  timings.review.push(Number(process.hrtime.bigint() - t0) / 1e6);
  used = process.cpuUsage(c0);
  cpu.review += (used.user + used.system) / 1000;
}
const pathRow = (name) => {
  const sorted = [...timings[name]].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1)),
    node_cpu_ms_per_call: round(cpu[name] / sorted.length),
  };
};
log(`review path: review p99 ${pathRow('review').p99_ms} ms, queue p99 ${pathRow('queue').p99_ms} ms`);

// ---- Gradebook after a policy change ----
const LESSON = randomUUID();
for (let done = 0; done < SETTINGS.gradebook_learners; done += 2500) {
  const attempts = [];
  for (let k = 0; k < Math.min(2500, SETTINGS.gradebook_learners - done); k++) {
    const userId = randomUUID();
    for (let number = 1; number <= 2; number++)
      attempts.push({
        id: randomUUID(),
        userId,
        courseId: COURSE,
        lessonId: LESSON,
        version: 1,
        number,
        itemIds: [],
        status: 'SUBMITTED',
        startedAt: new Date(NOW.getTime() + number * 1000),
        submittedAt: new Date(NOW.getTime() + number * 2000),
        score: ((done + k) * 37 * number) % 101,
        passed: false,
      });
  }
  await db.attempt.createMany({ data: attempts });
  log(`gradebook: ${done + attempts.length / 2}/${SETTINGS.gradebook_learners} learners`);
}
await recomputeGrades(db, LESSON, 'BEST', 60);
const policies = ['AVERAGE', 'LAST', 'BEST', 'AVERAGE', 'LAST'];
const recompute = [];
for (const policy of policies) {
  const t0 = process.hrtime.bigint();
  const rows = await recomputeGrades(db, LESSON, policy, 60);
  recompute.push(Number(process.hrtime.bigint() - t0) / 1e9);
  if (rows !== SETTINGS.gradebook_learners)
    throw new Error(`recomputed ${rows} grades, expected ${SETTINGS.gradebook_learners}`);
}
const gradebookSeconds = [...recompute].sort((a, b) => a - b)[2];
log(`gradebook: ${SETTINGS.gradebook_learners} learners recomputed in ${round(gradebookSeconds, 3)} s (median of 5)`);

await db.$disconnect();
await dropDatabase(SETTINGS.database);

const results = {
  benchmark: 'learning',
  date: new Date().toISOString(),
  machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, Node ${process.version}`,
  settings: SETTINGS,
  simulation: { reviews: simulatedReviews, seconds: round(simSeconds, 1) },
  results: [
    { name: 'sm2', ...quality('sm2') },
    { name: 'fsrs-default', ...quality('default') },
    {
      name: 'fsrs-optimized',
      ...quality('optimized'),
      share_beats_default: eligible ? round(beats / eligible, 3) : null,
      learners_with_400_reviews: eligible,
      target_share: 0.9,
    },
    { name: 'bkt', auc: round(bktEval.bkt.auc, 4), log_loss: round(bktEval.bkt.logLoss, 4) },
    { name: 'baseline', auc: round(bktEval.baseline.auc, 4), log_loss: round(bktEval.baseline.logLoss, 4) },
    {
      name: 'review-path',
      deck: SETTINGS.deck,
      review: pathRow('review'),
      due_queue: pathRow('queue'),
      p99_ms: Math.max(pathRow('review').p99_ms, pathRow('queue').p99_ms),
      target_ms: 50,
    },
    {
      name: 'optimizer',
      seconds_per_10k_reviews: optimizerReviews ? round((optimizerSeconds / optimizerReviews) * 10_000, 3) : null,
      reviews: optimizerReviews,
    },
    {
      name: 'gradebook',
      learners: SETTINGS.gradebook_learners,
      recompute_seconds: round(gradebookSeconds, 3),
      runs: recompute.map((s) => round(s, 3)),
      target_seconds: 2,
    },
  ],
};
fs.mkdirSync(path.join(ROOT, 'test/bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'test/bench/results/learning.json'), `${JSON.stringify(results, null, 2)}\n`);
const r = Object.fromEntries(results.results.map((x) => [x.name, x]));
const q = (x) =>
  `| ${x.name} | ${x.log_loss} | ${x.rmse_bins} | ${x.rmse_bins_pooled} | ${x.auc} | ${x.held_out_reviews} |`;
const md = [
  '# Learning evaluation (npm run bench:learning)',
  '',
  `${results.date}, ${results.machine}.`,
  `${SETTINGS.learners} simulated learners, ${SETTINGS.cards} cards, ${SETTINGS.days} days, ${simulatedReviews} reviews through reviewCard/reviewQueue (${round(simSeconds)} s); the last 20% of each learner's reviews held out.`,
  '',
  '| recall prediction | log loss | RMSE(bins), per learner | RMSE(bins), pooled | AUC | held-out reviews |',
  '|---|---:|---:|---:|---:|---:|',
  q(r.sm2),
  q(r['fsrs-default']),
  q(r['fsrs-optimized']),
  '',
  `Optimised beats default on log loss for ${beats} of ${eligible} learners with at least 400 reviews: share ${r['fsrs-optimized'].share_beats_default} (target 0.9).`,
  '',
  `Mastery: BKT AUC ${r.bkt.auc} against ${r.baseline.auc} for the running share correct (log loss ${r.bkt.log_loss} against ${r.baseline.log_loss}).`,
  '',
  `| review path, deck of ${SETTINGS.deck} | n | p50 ms | p99 ms | max ms | Node CPU ms per call |`,
  '|---|---:|---:|---:|---:|---:|',
  `| answer a review | ${r['review-path'].review.n} | ${r['review-path'].review.p50_ms} | **${r['review-path'].review.p99_ms}** | ${r['review-path'].review.max_ms} | ${r['review-path'].review.node_cpu_ms_per_call} |`,
  `| fetch the due queue | ${r['review-path'].due_queue.n} | ${r['review-path'].due_queue.p50_ms} | **${r['review-path'].due_queue.p99_ms}** | ${r['review-path'].due_queue.max_ms} | ${r['review-path'].due_queue.node_cpu_ms_per_call} |`,
  '',
  `Optimiser (fsrs-rs): ${r.optimizer.seconds_per_10k_reviews} s per 10,000 reviews. Gradebook: ${SETTINGS.gradebook_learners} learners recomputed in ${r.gradebook.recompute_seconds} s after a policy change (median of 5; target 2 s).`,
  '',
].join('\n');
fs.writeFileSync(path.join(ROOT, 'test/bench/results/learning.md'), md);
log('wrote test/bench/results/learning.json and learning.md');
