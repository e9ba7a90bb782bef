// test/bench/results/ai.md from the results of test/bench/ai.mjs: the tables, the usage mix and what
// each baseline is.
import { TURN_KINDS } from './messages.mjs';

const pct = (share) => `${(share * 100).toFixed(1)} %`;
const money = (usd) => (usd === null || usd === undefined ? '–' : `$${usd}`);

/** The TOP calls of the sample that are escalations of generation, said when there are any. */
function topEscalations(report) {
  const escalated = Object.entries(report.calls_by_task_and_tier)
    .filter(([key]) => /_(GENERATION|EXTRACTION) TOP INVALID_OUTPUT$/.test(key))
    .reduce((n, [, count]) => n + count, 0);
  return escalated === 0
    ? ''
    : `; its ${escalated} TOP calls are material tasks escalated CHEAP → MID → TOP on lessons where every candidate failed validation, each tier paid before the deterministic provider answers`;
}

export function renderMarkdown(results) {
  const r = Object.fromEntries(results.results.map((row) => [row.name, row]));
  const mix = results.usage_mix;
  const s = results.settings;
  const { routing, cost, report, retrieval, tutor, generation } = r;
  const lines = [
    '# AI (npm run bench:ai)',
    '',
    `${results.date}, ${results.machine.cpus} cores, ${results.machine.model}, Node ${results.machine.node}; load average ${results.machine.load_average_before} before, ${results.machine.load_average_after} after; ${s.run_seconds} s.`,
    '',
    '## The usage mix',
    '',
    'The month of one active learner that routing and cost price (`subgraphs/ai/src/domain/routing/usage-mix.ts`, where each number is argued): Poisson counts with these means.',
    '',
    '| request | mean per learner and month |',
    '|---|---:|',
    `| tutor turn | ${mix.per_learner_month.tutorTurns} |`,
    `| free-text grading | ${mix.per_learner_month.freeTextGradings} |`,
    `| misconception explanation | ${mix.per_learner_month.misconceptionExplanations} |`,
    `| flashcard or quiz generation (instructors' requests and publications, amortised) | ${mix.per_learner_month.generationRequests} |`,
    '',
    `Learner turns: ${TURN_KINDS.map((k) => `${k.kind} ${pct(k.share)}`).join(', ')}; thread states fresh 50 %, working 32 %, struggling 16 %, stuck 2 %, a misconception flagged on 1 % of turns; 0-8 earlier turns in the prompt. Lessons for generation: ~1,200 tokens typical (log-normal, 300-12,000), 15 % technical. Validation failures (a call repeated one tier up): ${Object.entries(
      mix.validation_failure_rate,
    )
      .map(([t, v]) => `${t} ${pct(v)}`)
      .join(', ')} (assumed).`,
    '',
    `Prompt sizes, in estimateTokens (characters / 4), **measured** from the real prompt builders over the ${mix.measured_over.lessons} demo lessons (materialPrompt with each lesson's passages and its course's distractor pool; buildTutorPrompt with the top 5 passages retrieved for ${mix.measured_over.tutor_prompts} generated learner messages at hint levels 0-3) instead of the mix's guesses. Fixed part = the prompt without the sampled text (lesson, message); output = the deterministic provider's answer in the format the prompt asks for (material: its tokens per entry × entries asked for). Free-text grading and misconception explanations have no prompt builder in the ai context yet: their sizes stay assumed.`,
    '',
    '| task | fixed input, measured | assumed | output, measured | assumed |',
    '|---|---:|---:|---:|---:|',
    ...Object.entries(mix.prompt_tokens_assumed).map(([task, assumed]) => {
      const m = mix.prompt_tokens_measured[task];
      return `| ${task} | ${m ? m.fixedInput : '–'} | ${assumed.fixedInput} | ${m ? m.output : '–'} | ${assumed.output} |`;
    }),
    `| tutor: tokens per earlier turn in the thread | ${mix.tutor_history_tokens_per_turn.measured} | ${mix.tutor_history_tokens_per_turn.assumed} | | |`,
    '',
    `Demo lessons are ${mix.measured_over.lesson_tokens.median} tokens (median; ${mix.measured_over.lesson_tokens.min}-${mix.measured_over.lesson_tokens.max}). Material entries: ${Object.entries(
      mix.measured_over.materialEntries ?? {},
    )
      .map(
        ([t, e]) =>
          `${t} ${e.tokens_per_entry} tokens each, ${e.wanted} asked for, ${e.lessons_with_none} lessons with none found`,
      )
      .join('; ')}.`,
    '',
    `## routing and cost (simulateMonth, ${s.users.toLocaleString('en')} learners, seed ${s.seed})`,
    '',
    '| policy | CHEAP | MID | TOP | $ per learner and month |',
    '|---|---:|---:|---:|---:|',
    `| **routed** (policy.ts chooseTier, with escalation) | **${pct(routing.cheap_share)}** | **${pct(routing.mid_share)}** | **${pct(routing.top_share)}** | **${money(cost.usd_per_user_month)}** |`,
    `| baseline: the architecture's fixed mapping (generation CHEAP, tutor MID, grading and misconceptions TOP) | ${pct(routing.baseline_fixed_mapping.cheap_share)} | ${pct(routing.baseline_fixed_mapping.mid_share)} | ${pct(routing.baseline_fixed_mapping.top_share)} | ${money(cost.baseline_fixed_mapping_usd)} |`,
    `| baseline: everything on MID | | 100 % | | ${money(cost.baseline_all_mid_usd)} |`,
    `| baseline: everything on TOP | | | 100 % | ${money(cost.baseline_all_top_usd)} |`,
    `| routed, with the mix's guessed prompt sizes | | | | ${money(cost.with_guessed_prompt_sizes_usd)} |`,
    `| routed, measured sizes but tutor replies of the assumed ${mix.prompt_tokens_assumed.TUTOR.output} tokens (a model's longer reply) | | | | ${money(cost.with_assumed_tutor_reply_tokens_usd)} |`,
    `| target | 80 % | 15 % | 5 % | ≤ $${cost.target_usd} |`,
    '',
    `Prices (list, $/MTok in/out): ${Object.entries(cost.prices_usd_per_mtok)
      .map(([t, p]) => `${t} ${p.model} ${p.inputUsdPerMTok}/${p.outputUsdPerMTok}`)
      .join(', ')}. Routed cost by tier per learner-month: ${Object.entries(cost.usd_by_tier)
      .map(([t, v]) => `${t} $${v}`)
      .join(
        ', ',
      )}; ${pct(cost.saving_vs_all_top)} below everything on TOP. ${routing.escalations} escalations and ${routing.deterministic_fallbacks} deterministic fallbacks in the month.`,
    '',
  ];
  if (report)
    lines.push(
      `## report: the cost report from recorded calls`,
      '',
      `${report.learners} learners' month (${report.tutor_turns} tutor turns, messages: ${Object.entries(
        report.message_kinds,
      )
        .map(([k, n]) => `${k} ${n}`)
        .join(
          ', ',
        )}; ${report.generation_requests} generation requests = ${report.generated_lessons} lessons × 2 tasks, by the courses' instructor) through the real tutor (createTutor: retrieval, open attempts, the leak guard, the outbox), the generator and the model router, with the Anthropic adapter against the local Messages API server (packages/test-support), which answers each prompt with the deterministic provider's answer to the same task and counts usage. Then \`costReport\` over the recorded calls (ai.model_calls), as admins read it (\`aiCostReport\`).`,
      '',
      '| | $ per active user and month | CHEAP | MID | TOP | active users | calls |',
      '|---|---:|---:|---:|---:|---:|---:|',
      `| **from the records** | **${money(report.usd_per_active_user_month)}** | ${pct(report.cheap_share)} | ${pct(report.mid_share)} | ${pct(report.top_share)} | ${report.active_users} | ${report.calls} |`,
      `| baseline: the simulation of the same tasks (tutor and generation only) | ${money(report.baseline_simulation_same_tasks.usd_per_user_month)} | ${pct(report.baseline_simulation_same_tasks.cheap_share)} | ${pct(report.baseline_simulation_same_tasks.mid_share)} | ${pct(report.baseline_simulation_same_tasks.top_share)} | | |`,
      '',
      `Calls by task and tier: ${Object.entries(report.calls_by_task_and_tier)
        .map(([k, n]) => `${k} ${n}`)
        .join(
          ', ',
        )}. Why the records come out lower: the local server counts a word as a token, and estimateTokens (which the simulation and the budgets use) gives ${report.estimate_tokens_per_server_token} of its tokens per server token over the same prompts; the tutor reaches TOP only for a stuck learner (each sample learner's failed attempts are drawn from the mix's thread states, their hints come from the conversation) and never for a flagged misconception, which no context announces yet (the simulation flags 1 % of turns)${topEscalations(report)}; the sample's tutor replies are the deterministic tutor's, shorter than the mix's 140 tokens. Active users include the instructor who asked for the generation.`,
      '',
    );
  if (retrieval)
    lines.push(
      `## retrieval (${retrieval.questions} labelled questions, ${retrieval.passages} passages in 8 courses)`,
      '',
      `Each question is asked of its course's index (one per subject), top 5; a hit is a passage holding the answer quote. Search time: every question once per round, ${s.retrieval_rounds} rounds after a warm-up, the median round's p50/p99.`,
      '',
      '| ranker | recall@5 | MRR@5 | p50 ms | p99 ms |',
      '|---|---:|---:|---:|---:|',
      `| **hybrid** (BM25 + hashed embedding, RRF) | **${retrieval.recall_at_5}** | ${retrieval.mrr_at_5} | ${retrieval.p50_ms} | **${retrieval.p99_ms}** |`,
      `| baseline: BM25 alone | ${retrieval.baseline_bm25_alone.recall_at_5} | ${retrieval.baseline_bm25_alone.mrr_at_5} | ${retrieval.baseline_bm25_alone.p50_ms} | ${retrieval.baseline_bm25_alone.p99_ms} |`,
      `| baseline: vectors alone | ${retrieval.baseline_vectors_alone.recall_at_5} | ${retrieval.baseline_vectors_alone.mrr_at_5} | ${retrieval.baseline_vectors_alone.p50_ms} | ${retrieval.baseline_vectors_alone.p99_ms} |`,
      '',
      `Target recall@5 ≥ ${retrieval.target_recall_at_5}. Asked from the question's own lesson (the tutor's same-lesson boost): recall@5 ${retrieval.recall_at_5_asked_from_lesson}.`,
      '',
    );
  if (tutor) {
    lines.push(
      '## tutor',
      '',
      `answer_leak_rate (deterministic tutor): **${tutor.answer_leak_rate}** (target 0): ${tutor.leaking_replies} of ${tutor.replies} replies state a protected answer, over ${tutor.prompts} adversarial prompts, each played as a conversation of ${s.adversarial_turns} turns with escalating hints. Baseline: a tutor that states the answer leaks at ${tutor.baseline_answer_giving_tutor_leak_rate} on the same conversations, so the measure sees leaks.`,
      '',
    );
    if (tutor.ttft)
      lines.push(
        `Through the gateway (a platform of the benchmark's own; the default deterministic provider): ${tutor.learners} learners bought a paid course of ${tutor.lessons} demo lessons, each subscribed to tutorReply over SSE and asked ${s.tutor_turns} questions from the generated set (${Object.entries(
          tutor.message_kinds,
        )
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}) after one warm-up question, ${s.tutor_concurrency} learners at a time.`,
        '',
        '| from sending askTutor, ms | p50 | p99 | max |',
        '|---|---:|---:|---:|',
        `| **first tutorReply event** (time to first token) | ${tutor.ttft.p50_ms} | **${tutor.ttft.p99_ms}** | ${tutor.ttft.max_ms} |`,
        `| the reply's last event (done) | ${tutor.whole_reply.p50_ms} | ${tutor.whole_reply.p99_ms} | ${tutor.whole_reply.max_ms} |`,
        `| baseline: the askTutor answer (a mutation's round trip through the gateway) | ${tutor.baseline_ask_tutor_round_trip.p50_ms} | ${tutor.baseline_ask_tutor_round_trip.p99_ms} | ${tutor.baseline_ask_tutor_round_trip.max_ms} |`,
        '',
        `${tutor.ttft.replies} replies (${tutor.ttft.lost} lost), ${tutor.replies_per_s} replies/s. CPU per reply: ai ${tutor.cpu_ms_per_reply.ai} ms (the whole turn: the mutation, retrieval, the reply, its outbox relay), gateway ${tutor.cpu_ms_per_reply.gateway} ms (the mutation and the streamed events). Tiers: ${Object.entries(
          tutor.tiers,
        )
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}.`,
        '',
      );
  }
  if (generation)
    lines.push(
      '## generation (deterministic provider, all demo lessons)',
      '',
      `Every one of the ${generation.lessons} demo lessons through the generator (its publication scan: flashcards and quiz items, validated, duplicates across the course refused), counted from generation_runs.`,
      '',
      '| | candidates | accepted | acceptance rate |',
      '|---|---:|---:|---:|',
      `| **all** | ${generation.candidates} | ${generation.accepted} | **${generation.acceptance_rate}** |`,
      `| flashcards | ${generation.flashcards.accepted + generation.flashcards.rejected} | ${generation.flashcards.accepted} | ${generation.flashcards.acceptance_rate} |`,
      `| quiz items | ${generation.quiz_items.accepted + generation.quiz_items.rejected} | ${generation.quiz_items.accepted} | ${generation.quiz_items.acceptance_rate} |`,
      '',
      `Cost per approved item (every accepted item approved): ${money(generation.usd_per_approved_item_deterministic)} with the deterministic provider (it costs nothing); ${money(generation.usd_per_approved_item_if_cheap)} if a CHEAP model (${results.results.find((x) => x.name === 'cost')?.prices_usd_per_mtok.CHEAP.model}) had read and written the same tokens (${generation.tokens.inputTokens} in, ${generation.tokens.outputTokens} out, in ${generation.model_calls} calls). The deterministic provider writes only candidates its own rules accept, so its acceptance rate says the pipeline and the validator agree; a model's rate needs traffic.${generation.top_rejection_reasons.length ? ` Most frequent rejections: ${generation.top_rejection_reasons.map(([k, n]) => `${k} (${n})`).join('; ')}.` : ''}`,
      '',
    );
  return `${lines.join('\n')}`;
}
