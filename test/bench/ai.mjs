#!/usr/bin/env node
// AI benchmark (npm run bench:ai): routing and cost at the documented usage mix, the cost report from
// recorded calls, retrieval quality and speed, the tutor's answer leaks and time to first token through
// the gateway, and the acceptance rate of generated material. Every row has a baseline measured in the
// same run (test/bench/README.md, "ai"). Imports the built ai subgraph (npm run build, or npx tsc -b).
//
//   routing, cost  simulateMonth (usage-mix.ts) over BENCH_AI_USERS learners, with prompt sizes measured
//                  from the real prompt builders over the 96 demo lessons; baselines: the architecture's
//                  fixed task → tier mapping, everything on MID, everything on TOP.
//   report         BENCH_AI_REPORT_LEARNERS learners' month through the real tutor, generator and model
//                  router (Anthropic adapter → local Messages API server) over a scratch database, then
//                  costReport from the records; compared with the simulation of the same tasks.
//   retrieval      recall@5 and search p99 on test/bench/ai/retrieval-questions.json: hybrid, BM25 alone,
//                  vectors alone.
//   tutor          answer_leak_rate on test/bench/ai/adversarial-prompts.json (baseline: a tutor that
//                  gives the answer); time to first token through the gateway (baseline: askTutor's own
//                  round trip), CPU per reply of ai and the gateway.
//   generation     all 96 demo lessons through the generator with the deterministic provider.
// Writes test/bench/results/ai.json and ai.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/env.mjs';
import { withRedisPassword } from '../../scripts/lib/credentials.mjs';

const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  users: Number(env('BENCH_AI_USERS', 20_000)),
  seed: Number(env('BENCH_AI_SEED', 16)),
  report_learners: Number(env('BENCH_AI_REPORT_LEARNERS', 30)),
  retrieval_rounds: Number(env('BENCH_AI_RETRIEVAL_ROUNDS', 5)),
  adversarial_turns: 6,
  tutor_learners: Number(env('BENCH_AI_TUTOR_LEARNERS', 40)),
  tutor_turns: Number(env('BENCH_AI_TUTOR_TURNS', 5)),
  tutor_concurrency: Number(env('BENCH_AI_TUTOR_CONCURRENCY', 4)),
  tutor_subject: 'Go',
  tutor_lessons: 6,
  database: env('BENCH_DATABASE', 'coursegraph_bench_ai'),
  platform_database: env('BENCH_PLATFORM_DATABASE', 'coursegraph_bench_ai_platform'),
  redis_db: 5,
  parts: env('BENCH_AI_PARTS', 'routing,retrieval,tutor-leak,pipeline,tutor-gateway'),
};
const parts = new Set(SETTINGS.parts.split(','));
const REDIS_URL = withRedisPassword(env('BENCH_REDIS_URL', `redis://127.0.0.1:6379/${SETTINGS.redis_db}`));

const dist = (file) => path.join(ROOT, 'subgraphs/ai/dist', file);
for (const file of ['domain/model-router.js', 'domain/routing/usage-mix.js', 'data/model-calls.js'])
  if (!fs.existsSync(dist(file))) throw new Error(`missing ${dist(file)}: run npm run build (or npx tsc -b)`);
if (!fs.existsSync(path.join(ROOT, 'subgraphs/course/dist/demo-lesson-texts.js')))
  throw new Error('missing subgraphs/course/dist/demo-lesson-texts.js: run npm run build');

const { seededRandom } = await import('@coursegraph/service-kit');
const { DEMO_LESSON_TEXTS } = await import('../../subgraphs/course/dist/demo-lesson-texts.js');
const { DEFAULT_USAGE_MIX, simulateMonth } = await import(dist('domain/routing/usage-mix.js'));
const { TASK_START_TIER, chooseTier } = await import(dist('domain/routing/policy.js'));
const { DEFAULT_TIERS } = await import(dist('domain/routing/tiers.js'));
const { chunkLesson, createHashedEmbedding, createRetriever, recallAtK } = await import(
  dist('domain/retrieval/index.js')
);
const { adversarialLeakRate, parseAdversarialSet } = await import(dist('domain/tutor/adversarial.js'));
const { percentile, round } = await import('./lib/measure.mjs');
const { measurePromptSizes } = await import('./ai/prompt-sizes.mjs');
const { idFor, openPipeline } = await import('./ai/pipeline.mjs');
const { tutorThroughGateway } = await import('./ai/tutor-gateway.mjs');

const log = (...args) => console.log('bench:ai:', ...args);
const runStarted = Date.now();
const loadBefore = os.loadavg()[0];
const rows = {};
const notes = {};

// ---- The demo lessons: one course per subject, as the seed gives each subject's texts to one course ----
/** A lesson's title: the start of its first sentence (the demo texts have none of their own). */
const titleOf = (text) => text.split(/[.:]/)[0].split(/\s+/).slice(0, 7).join(' ');
const lessons = Object.entries(DEMO_LESSON_TEXTS).flatMap(([subject, texts]) =>
  texts.map((text, index) => {
    const courseId = idFor(`course:${subject}`);
    const lessonId = idFor(`lesson:${subject}:${index}`);
    return {
      subject,
      index,
      courseId,
      lessonId,
      title: titleOf(text),
      text,
      passages: chunkLesson({ courseId, lessonId, text }),
    };
  }),
);
const retrievers = new Map();
for (const courseId of new Set(lessons.map((l) => l.courseId))) {
  const retriever = createRetriever({ embedding: createHashedEmbedding() });
  await retriever.add(lessons.filter((l) => l.courseId === courseId).flatMap((l) => l.passages));
  retrievers.set(courseId, retriever);
}
log(
  `${lessons.length} demo lessons in ${retrievers.size} courses, ${lessons.reduce((n, l) => n + l.passages.length, 0)} passages`,
);

// ---- routing, cost: the simulated month at the measured prompt sizes ----
const sizes = await measurePromptSizes({ lessons, retrievers, random: seededRandom(SETTINGS.seed) });
const MEASURED_MIX = {
  ...DEFAULT_USAGE_MIX,
  promptTokens: { ...DEFAULT_USAGE_MIX.promptTokens, ...sizes.promptTokens },
  tutorHistoryTokensPerTurn: sizes.tutorHistoryTokensPerTurn,
};
const fixedPolicy = (input) => ({ tier: TASK_START_TIER[input.task], reasons: ['the architecture’s mapping'] });
const allOn = (tier) => () => ({ tier, reasons: [`everything on ${tier}`] });
const simulate = (policy, mix = MEASURED_MIX) =>
  simulateMonth({ users: SETTINGS.users, seed: SETTINGS.seed, tiers: DEFAULT_TIERS, policy, mix });
const shares = (s) => ({
  cheap_share: round(s.shares.cheap_share, 4),
  mid_share: round(s.shares.mid_share, 4),
  top_share: round(s.shares.top_share, 4),
});
const usd = (s) => round(s.usd_per_user_month, 5);
const routed = simulate(chooseTier);
const routedGuessed = simulate(chooseTier, DEFAULT_USAGE_MIX);
// The measured tutor reply is the deterministic tutor's; a model may write up to 120 words.
const routedLongReplies = simulate(chooseTier, {
  ...MEASURED_MIX,
  promptTokens: {
    ...MEASURED_MIX.promptTokens,
    TUTOR: { ...MEASURED_MIX.promptTokens.TUTOR, output: DEFAULT_USAGE_MIX.promptTokens.TUTOR.output },
  },
});
const fixed = simulate(fixedPolicy);
const allTop = simulate(allOn('TOP'));
const allMid = simulate(allOn('MID'));
rows.routing = {
  ...shares(routed),
  target: { cheap_share: 0.8, mid_share: 0.15, top_share: 0.05 },
  users: SETTINGS.users,
  paid_calls: routed.requests,
  requests_by_task: routed.byTask,
  escalations: routed.escalations,
  deterministic_fallbacks: routed.deterministicFallbacks,
  baseline_fixed_mapping: shares(fixed),
};
rows.cost = {
  usd_per_user_month: usd(routed),
  target_usd: 0.03,
  baseline_all_top_usd: usd(allTop),
  baseline_all_mid_usd: usd(allMid),
  baseline_fixed_mapping_usd: usd(fixed),
  with_guessed_prompt_sizes_usd: usd(routedGuessed),
  with_assumed_tutor_reply_tokens_usd: usd(routedLongReplies),
  saving_vs_all_top: round(1 - routed.usd_per_user_month / allTop.usd_per_user_month, 3),
  usd_by_tier: Object.fromEntries(
    Object.entries(routed.microUsd).map(([t, m]) => [t, round(m / 1e6 / SETTINGS.users, 5)]),
  ),
  prices_usd_per_mtok: DEFAULT_TIERS,
};
notes.sizes = sizes;
log(
  `routing: cheap ${rows.routing.cheap_share}, mid ${rows.routing.mid_share}, top ${rows.routing.top_share} (fixed mapping: ${JSON.stringify(rows.routing.baseline_fixed_mapping)})`,
);
log(
  `cost: $${rows.cost.usd_per_user_month}/user-month; all MID $${rows.cost.baseline_all_mid_usd}, all TOP $${rows.cost.baseline_all_top_usd}`,
);

// ---- retrieval: recall@5 and search latency on the labelled set ----
if (parts.has('retrieval')) {
  const set = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/bench/ai/retrieval-questions.json'), 'utf8'));
  const questions = set.map((q) => ({
    id: q.id,
    courseId: idFor(`course:${q.subject}`),
    question: q.question,
    answerQuote: q.answerQuote,
  }));
  const fromLesson = set.map((q, n) => ({ ...questions[n], lessonId: idFor(`lesson:${q.subject}:${q.lessonIndex}`) }));
  /** Recall over every course: each question asked of its own course's retriever. */
  async function recall(qs, mode) {
    let hits = 0;
    let rr = 0;
    for (const [courseId, retriever] of retrievers) {
      const own = qs.filter((q) => q.courseId === courseId);
      if (own.length === 0) continue;
      const r = await recallAtK(retriever, own, 5, { mode });
      hits += r.hits;
      rr += r.meanReciprocalRank * own.length;
    }
    return { recall: round(hits / qs.length, 4), mrr: round(rr / qs.length, 4) };
  }
  /** p50/p99 of one top-5 search over every question, per round; the median round's. */
  async function latency(mode) {
    const perRound = [];
    for (let r = 0; r < SETTINGS.retrieval_rounds + 1; r++) {
      const times = [];
      for (const q of questions) {
        const t0 = performance.now();
        await retrievers.get(q.courseId).search(q.question, { courseId: q.courseId, k: 5, mode });
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      if (r > 0) perRound.push({ p50: percentile(times, 50), p99: percentile(times, 99) }); // round 0 warms up
    }
    const mid = (key) => [...perRound.map((x) => x[key])].sort((a, b) => a - b)[Math.floor(perRound.length / 2)];
    return {
      p50_ms: round(mid('p50'), 3),
      p99_ms: round(mid('p99'), 3),
      rounds_p99_ms: perRound.map((x) => round(x.p99, 3)),
    };
  }
  const hybrid = await recall(questions, 'HYBRID');
  const lexical = await recall(questions, 'LEXICAL');
  const vector = await recall(questions, 'VECTOR');
  const withLesson = await recall(fromLesson, 'HYBRID');
  const [hybridTime, lexicalTime, vectorTime] = [
    await latency('HYBRID'),
    await latency('LEXICAL'),
    await latency('VECTOR'),
  ];
  rows.retrieval = {
    recall_at_5: hybrid.recall,
    target_recall_at_5: 0.85,
    ...hybridTime,
    mrr_at_5: hybrid.mrr,
    recall_at_5_asked_from_lesson: withLesson.recall,
    questions: questions.length,
    passages: lessons.reduce((n, l) => n + l.passages.length, 0),
    baseline_bm25_alone: { recall_at_5: lexical.recall, mrr_at_5: lexical.mrr, ...lexicalTime },
    baseline_vectors_alone: { recall_at_5: vector.recall, mrr_at_5: vector.mrr, ...vectorTime },
  };
  log(
    `retrieval: recall@5 hybrid ${hybrid.recall}, BM25 ${lexical.recall}, vectors ${vector.recall}; p99 ${hybridTime.p99_ms} ms (BM25 ${lexicalTime.p99_ms}, vectors ${vectorTime.p99_ms})`,
  );
}

// ---- tutor: answer leaks on the adversarial set ----
if (parts.has('tutor-leak')) {
  const prompts = parseAdversarialSet(
    JSON.parse(fs.readFileSync(path.join(ROOT, 'test/bench/ai/adversarial-prompts.json'), 'utf8')),
  );
  const deterministic = await adversarialLeakRate(prompts, SETTINGS.adversarial_turns);
  // The baseline shows the measure sees a leak: a tutor that simply states the answer.
  const telling = await adversarialLeakRate(
    prompts,
    SETTINGS.adversarial_turns,
    (task) => `Fine, here it is: the answer is ${task.protectedAnswers[0]}. Does that help?`,
  );
  rows.tutor = {
    answer_leak_rate: round(deterministic.rate, 4),
    target_leak_rate: 0,
    prompts: prompts.length,
    replies: deterministic.replies,
    leaking_replies: deterministic.leakingReplies,
    leaking_prompt_ids: deterministic.leakingIds,
    baseline_answer_giving_tutor_leak_rate: round(telling.rate, 4),
  };
  log(
    `tutor: answer_leak_rate ${rows.tutor.answer_leak_rate} over ${deterministic.replies} replies (answer-giving tutor: ${rows.tutor.baseline_answer_giving_tutor_leak_rate})`,
  );
}

// ---- generation and the cost report from records: the real pipeline in-process ----
if (parts.has('pipeline')) {
  const pipeline = await openPipeline({ database: SETTINGS.database, redisUrl: REDIS_URL, lessons, log });
  try {
    const g = await pipeline.generateAll();
    const approvedCheapUsd = g.accepted ? g.cheapMicroUsd / 1e6 / g.accepted : null;
    rows.generation = {
      acceptance_rate: round(g.accepted / g.candidates, 4),
      candidates: g.candidates,
      accepted: g.accepted,
      lessons: g.runs,
      flashcards: {
        ...g.byKind.FLASHCARD,
        acceptance_rate: round(
          g.byKind.FLASHCARD.accepted / (g.byKind.FLASHCARD.accepted + g.byKind.FLASHCARD.rejected),
          4,
        ),
      },
      quiz_items: {
        ...g.byKind.QUIZ_ITEM,
        acceptance_rate: round(
          g.byKind.QUIZ_ITEM.accepted / (g.byKind.QUIZ_ITEM.accepted + g.byKind.QUIZ_ITEM.rejected),
          4,
        ),
      },
      stored_items: g.stored,
      top_rejection_reasons: g.topRejectionReasons,
      usd_per_approved_item_deterministic: round(g.costMicroUsd / 1e6 / Math.max(1, g.accepted), 6),
      usd_per_approved_item_if_cheap: approvedCheapUsd === null ? null : round(approvedCheapUsd, 6),
      tokens: g.tokens,
      model_calls: g.calls,
      tiers_recorded: g.tiers,
    };
    log(
      `generation: ${g.accepted}/${g.candidates} accepted (${rows.generation.acceptance_rate}); $${rows.generation.usd_per_approved_item_if_cheap} per approved item at CHEAP prices`,
    );

    const sample = await pipeline.sampleMonth({
      learners: SETTINGS.report_learners,
      mix: MEASURED_MIX,
      random: seededRandom(SETTINGS.seed + 1),
    });
    const r = sample.report;
    const paid = r.tiers.filter((t) => t.tier !== 'DETERMINISTIC');
    const paidCalls = paid.reduce((n, t) => n + t.calls, 0);
    const paidShare = (tier) => round((r.tiers.find((t) => t.tier === tier)?.calls ?? 0) / Math.max(1, paidCalls), 4);
    // The simulation of the same tasks: the sample has no free-text grading or misconception
    // explanation (nothing in the ai context sends those yet), so the comparison leaves them out.
    const sameTasks = simulateMonth({
      users: SETTINGS.users,
      seed: SETTINGS.seed,
      tiers: DEFAULT_TIERS,
      mix: {
        ...MEASURED_MIX,
        perLearnerMonth: { ...MEASURED_MIX.perLearnerMonth, freeTextGradings: 0, misconceptionExplanations: 0 },
      },
    });
    rows.report = {
      usd_per_active_user_month: round(r.usdPerActiveUserMonth, 6),
      cheap_share: paidShare('CHEAP'),
      mid_share: paidShare('MID'),
      top_share: paidShare('TOP'),
      active_users: r.activeUsers,
      calls: r.calls,
      total_usd: round(r.totalUsd, 6),
      tiers: r.tiers.map((t) => ({ ...t, share: round(t.share, 4), usd: round(t.usd, 6) })),
      learners: sample.learners,
      tutor_turns: sample.tutorTurns,
      message_kinds: sample.messageKinds,
      generation_requests: sample.generationRequests,
      generated_lessons: sample.generatedLessons,
      messages_api_requests: sample.serverRequests,
      calls_by_task_and_tier: sample.byTaskTier,
      estimate_tokens_per_server_token: sample.estimateToServerTokens && round(sample.estimateToServerTokens, 3),
      baseline_simulation_same_tasks: { ...shares(sameTasks), usd_per_user_month: usd(sameTasks) },
    };
    log(
      `report from records: $${rows.report.usd_per_active_user_month}/active user-month over ${r.activeUsers} users, ${r.calls} calls; cheap ${rows.report.cheap_share}, mid ${rows.report.mid_share}, top ${rows.report.top_share} (simulation of the same tasks: $${rows.report.baseline_simulation_same_tasks.usd_per_user_month})`,
    );
  } finally {
    await pipeline.close();
  }
}

// ---- tutor: time to first token through the gateway ----
if (parts.has('tutor-gateway')) {
  const go = lessons.filter((l) => l.subject === SETTINGS.tutor_subject).slice(0, SETTINGS.tutor_lessons);
  const t = await tutorThroughGateway({
    database: SETTINGS.platform_database,
    redisUrl: REDIS_URL,
    courseLessons: go.map((l) => ({ title: l.title, text: l.text })),
    learners: SETTINGS.tutor_learners,
    turns: SETTINGS.tutor_turns,
    concurrency: SETTINGS.tutor_concurrency,
    random: seededRandom(SETTINGS.seed + 2),
    log,
  });
  const figures = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return {
      p50_ms: round(percentile(sorted, 50), 1),
      p99_ms: round(percentile(sorted, 99), 1),
      max_ms: round(sorted.at(-1), 1),
    };
  };
  rows.tutor = {
    ...rows.tutor,
    ttft: { ...figures(t.ttft), replies: t.replies, lost: t.lost },
    p99_ms: figures(t.ttft).p99_ms,
    p50_ms: figures(t.ttft).p50_ms,
    whole_reply: figures(t.total),
    baseline_ask_tutor_round_trip: figures(t.ask),
    cpu_ms_per_reply: { ai: round(t.cpuMsPerReply.ai, 2), gateway: round(t.cpuMsPerReply.gateway, 2) },
    tiers: t.tiers,
    message_kinds: t.kinds,
    learners: t.learners,
    lessons: t.lessons,
    replies_per_s: round(t.replies / t.seconds, 2),
    warm_up_replies_lost: t.warmLost,
  };
  log(
    `tutor through the gateway: first token p50 ${rows.tutor.p50_ms} ms, p99 ${rows.tutor.p99_ms} ms over ${t.replies} replies (${t.lost} lost); askTutor p99 ${rows.tutor.baseline_ask_tutor_round_trip.p99_ms} ms; CPU per reply ai ${rows.tutor.cpu_ms_per_reply.ai} ms, gateway ${rows.tutor.cpu_ms_per_reply.gateway} ms`,
  );
}

// ---- results ----
const results = {
  benchmark: 'ai',
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? '',
    node: process.version,
    load_average_before: round(loadBefore, 2),
    load_average_after: round(os.loadavg()[0], 2),
  },
  settings: { ...SETTINGS, run_seconds: Math.round((Date.now() - runStarted) / 1000) },
  usage_mix: {
    per_learner_month: MEASURED_MIX.perLearnerMonth,
    prompt_tokens_measured: sizes.promptTokens,
    prompt_tokens_assumed: DEFAULT_USAGE_MIX.promptTokens,
    tutor_history_tokens_per_turn: {
      measured: sizes.tutorHistoryTokensPerTurn,
      assumed: DEFAULT_USAGE_MIX.tutorHistoryTokensPerTurn,
    },
    validation_failure_rate: MEASURED_MIX.validationFailureRate,
    measured_over: {
      lessons: sizes.lessons,
      lesson_tokens: sizes.lessonTokens,
      tutor_prompts: sizes.tutorPrompts,
      materialEntries: sizes.materialEntries,
      spread: sizes.spread,
    },
  },
  results: Object.entries(rows).map(([name, row]) => ({ name, ...row })),
};
const full = parts.size === 5;
const outDir = path.join(ROOT, 'test/bench/results');
fs.mkdirSync(outDir, { recursive: true });
if (!full) {
  log(`BENCH_AI_PARTS=${SETTINGS.parts}: figures printed, results files left as they were`);
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}
fs.writeFileSync(path.join(outDir, 'ai.json'), `${JSON.stringify(results, null, 2)}\n`);
const { renderMarkdown } = await import('./ai/report-md.mjs');
fs.writeFileSync(path.join(outDir, 'ai.md'), renderMarkdown(results));
log(`wrote test/bench/results/ai.json and ai.md (${results.settings.run_seconds} s)`);
