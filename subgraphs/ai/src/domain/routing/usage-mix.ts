/**
 * The simulated month of usage the benchmark prices (`npm run bench:ai`, rows `routing` and
 * `cost`): every request goes through the real routing policy and is priced with the real cost
 * function at the tiers' list prices. The mix is an ASSUMPTION about an active learner, written
 * down so it can be argued with; the tier shares follow from it and from the policy, they are not
 * measured traffic.
 *
 * Per active learner per month (Poisson counts, so some learners do much more and many less):
 *
 * | request                        | mean / month | why this many                                                   |
 * | ------------------------------ | ------------ | --------------------------------------------------------------- |
 * | tutor turn                     | 8            | two or three short conversations on lessons they are stuck on   |
 * | free-text grading              | 0.4          | most quiz items are auto-graded types; free text is the rare    |
 * |                                |              | one; 60 % of those expect one exact answer (a term, a number)   |
 * | misconception explanation      | 0.1          | a wrong answer matching a known misconception, now and then     |
 * | flashcard / quiz generation    | 0.25         | instructors' requests amortised: ~1 instructor per 100 learners |
 * |                                |              | asking ~20 times a month, plus publications (12 lessons × 2     |
 * |                                |              | requests per course every ~3 months, ~150 learners per course)  |
 *
 * Tutor turns are the learner's side of a Socratic dialogue, where the tutor asks most of the
 * questions, so most learner turns are short replies:
 *
 * | learner turn                                   | share | tokens | why/how cues |
 * | ---------------------------------------------- | ----- | ------ | ------------ |
 * | an answer to the tutor's question              | 60 %  | 2-30   | 0            |
 * | a hint request or acknowledgement ("no idea")  | 20 %  | 2-12   | 0            |
 * | an own recall question ("what is a mutex?")    | 9 %   | 5-30   | 0            |
 * | an own reasoning question ("why does…")        | 8 %   | 12-120 | 1-2          |
 * | pasted work (code, a derivation)               | 3 %   | 60-400 | 0-1          |
 *
 * Where the learner stands on the thread (hints and failures go together, so they are drawn as
 * one state), and a flagged misconception on 1 % of turns:
 *
 * | thread state | share | hints given | recent failures |
 * | ------------ | ----- | ----------- | --------------- |
 * | fresh        | 50 %  | 0           | 0               |
 * | working      | 32 %  | 1-2         | 0-1             |
 * | struggling   | 16 %  | 1-2         | 1-3             |
 * | stuck        | 2 %   | 3-4         | 2-3             |
 *
 * A turn's prompt carries the thread so far: 0 to 8 earlier turns of ~90 tokens each. Lessons for generation: ~1,200 tokens typical (log-normal, 300 to 12,000), 15 % of them
 * technical (code or mathematics).
 *
 * Prompt sizes (tokens): the fixed part of each task's prompt (instructions, output format,
 * retrieved passages) plus the variable part sampled above, and a typical output. They are
 * estimates of the prompts this context sends (system prompt ≈ 350-600 tokens, five retrieved
 * passages of ≈ 110 tokens); pass `mix.promptTokens` measured from the real prompt builders to
 * replace them.
 *
 * Validation failures: an output that fails validation (schema, citation, leaked answer) is asked
 * again of the next tier up (policy.ts `escalate`), so the same prompt is paid twice; past TOP the
 * deterministic provider answers for free. Assumed rates: CHEAP 6 %, MID 3 %, TOP 2 % — not
 * measured (the deterministic provider's acceptance rate is measured elsewhere; a real model's
 * needs traffic); they put ~5 % more calls on the higher tiers.
 */
import { seededRandom } from '@coursegraph/service-kit';
import { TIERS, type TaskType, type Tier, type Usage } from '../../providers/provider.js';
import { scoreDifficulty, type DifficultyEstimate, type DifficultyFeatures, type TextFeatures } from './difficulty.js';
import { chooseTier, escalate, type LearnerContext, type RoutingInput, type RoutingPolicy } from './policy.js';
import { costMicroUsd, microUsdToUsd, type TierTable } from './tiers.js';

export interface PromptTokens {
  /** Tokens of the prompt besides the sampled text (instructions, passages, history). */
  fixedInput: number;
  /** A typical answer's tokens. */
  output: number;
}

export interface UsageMix {
  /** Mean requests per active learner per month. */
  perLearnerMonth: {
    tutorTurns: number;
    freeTextGradings: number;
    misconceptionExplanations: number;
    generationRequests: number;
  };
  promptTokens: Record<TaskType, PromptTokens>;
  /** Tokens of conversation history each earlier turn of a tutor thread adds to the prompt. */
  tutorHistoryTokensPerTurn: number;
  /** Share of outputs that fail validation at each tier. */
  validationFailureRate: Record<Tier, number>;
}

/** The documented mix (see the top of this file). */
export const DEFAULT_USAGE_MIX: UsageMix = Object.freeze({
  perLearnerMonth: { tutorTurns: 8, freeTextGradings: 0.4, misconceptionExplanations: 0.1, generationRequests: 0.25 },
  promptTokens: {
    // Socratic instructions and guardrails (~450) + five retrieved passages (~550).
    TUTOR: { fixedInput: 1_000, output: 140 },
    // Instructions and the card format (~500), then the lesson; ~10 cards with citations.
    FLASHCARD_EXTRACTION: { fixedInput: 500, output: 700 },
    // Instructions and item format (~600) + a distractor pool (~250), then the lesson; ~6 items.
    QUIZ_GENERATION: { fixedInput: 850, output: 1_000 },
    // Instructions (~350) + item, rubric and expected answer (~250) + one passage (~110), then the answer.
    GRADE_FREE_TEXT: { fixedInput: 710, output: 180 },
    // Instructions (~400) + item (~150) + three passages (~330), then the wrong answer.
    EXPLAIN_MISCONCEPTION: { fixedInput: 880, output: 400 },
  },
  tutorHistoryTokensPerTurn: 90,
  validationFailureRate: { CHEAP: 0.06, MID: 0.03, TOP: 0.02 },
});

export interface SimulateMonthOptions {
  /** Active learners to simulate. */
  users: number;
  seed: number;
  tiers: TierTable;
  /** Default: chooseTier. A benchmark may pass another (e.g. everything on TOP) to compare. */
  policy?: RoutingPolicy;
  mix?: UsageMix;
}

export interface MonthSimulation {
  users: number;
  /** Paid calls per tier, escalations included. */
  requests: Record<Tier, number>;
  /** Each tier's part of the paid calls (0..1), named as the benchmark's `routing` row. */
  shares: { cheap_share: number; mid_share: number; top_share: number };
  tokens: Record<Tier, Usage>;
  microUsd: Record<Tier, number>;
  /** Requests per task (before escalation). */
  byTask: Record<TaskType, number>;
  /** Calls repeated one tier up after a validation failure. */
  escalations: number;
  /** Requests answered by the deterministic provider after failing validation at TOP. */
  deterministicFallbacks: number;
  /** Total cost / users, in dollars, at the tiers' prices. */
  usd_per_user_month: number;
}

type Random = () => number;

const between = (random: Random, low: number, high: number) => low + (high - low) * random();
const intBetween = (random: Random, low: number, high: number) => Math.floor(between(random, low, high + 1));

/** Picks an index with the given weights (summing to 1). */
function pickWeighted(random: Random, weights: readonly number[]): number {
  let r = random();
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/** Knuth's method; fine for the small means used here. */
function poisson(random: Random, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let product = random();
  while (product > limit) {
    k++;
    product *= random();
  }
  return k;
}

/** Standard normal by Box-Muller. */
const normal = (random: Random) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

const estimate = (features: DifficultyFeatures): DifficultyEstimate => ({ score: scoreDifficulty(features), features });

interface SimulatedRequest {
  routing: RoutingInput;
  /** Tokens of the sampled text (message, lesson, answer), added to the prompt's fixed part. */
  variableInputTokens: number;
}

/** The thread states of the table above: share, hints given [low, high], recent failures [low, high]. */
const THREAD_STATES: { share: number; hints: [number, number]; failures: [number, number] }[] = [
  { share: 0.5, hints: [0, 0], failures: [0, 0] },
  { share: 0.32, hints: [1, 2], failures: [0, 1] },
  { share: 0.16, hints: [1, 2], failures: [1, 3] },
  { share: 0.02, hints: [3, 4], failures: [2, 3] },
];
const THREAD_STATE_SHARES = THREAD_STATES.map((state) => state.share);
const MISCONCEPTION_FLAGGED_SHARE = 0.01;
const EXACT_ANSWER_SHARE = 0.6;
const TECHNICAL_LESSON_SHARE = 0.15;

/** The learner turns of the table above: share, then how to draw the text's features. */
const TUTOR_TURNS: { share: number; draw: (random: Random) => TextFeatures }[] = [
  // an answer to the tutor's question
  {
    share: 0.6,
    draw: (r) => ({
      tokens: intBetween(r, 2, 30),
      uncommonWordShare: between(r, 0, 0.3),
      symbolsPerWord: between(r, 0, 0.15),
      reasoningCues: 0,
    }),
  },
  // a hint request or acknowledgement
  {
    share: 0.2,
    draw: (r) => ({
      tokens: intBetween(r, 2, 12),
      uncommonWordShare: between(r, 0, 0.1),
      symbolsPerWord: 0,
      reasoningCues: 0,
    }),
  },
  // an own recall question
  {
    share: 0.09,
    draw: (r) => ({
      tokens: intBetween(r, 5, 30),
      uncommonWordShare: between(r, 0, 0.3),
      symbolsPerWord: between(r, 0, 0.1),
      reasoningCues: 0,
    }),
  },
  // an own reasoning question
  {
    share: 0.08,
    draw: (r) => ({
      tokens: intBetween(r, 12, 120),
      uncommonWordShare: between(r, 0.05, 0.35),
      symbolsPerWord: between(r, 0, 0.2),
      reasoningCues: intBetween(r, 1, 2),
    }),
  },
  // pasted work
  {
    share: 0.03,
    draw: (r) => ({
      tokens: intBetween(r, 60, 400),
      uncommonWordShare: between(r, 0.2, 0.5),
      symbolsPerWord: between(r, 0.3, 1),
      reasoningCues: intBetween(r, 0, 1),
    }),
  },
];
const TUTOR_TURN_SHARES = TUTOR_TURNS.map((turn) => turn.share);

const pickTurnText = (random: Random): TextFeatures =>
  TUTOR_TURNS[pickWeighted(random, TUTOR_TURN_SHARES)]!.draw(random);

/** Where a learner stands on a thread, drawn from the thread states of the table above. */
export function drawThreadState(random: Random): { hintsGiven: number; recentFailures: number } {
  const state = THREAD_STATES[pickWeighted(random, THREAD_STATE_SHARES)]!;
  return { hintsGiven: intBetween(random, ...state.hints), recentFailures: intBetween(random, ...state.failures) };
}

function tutorTurn(random: Random, mix: UsageMix): SimulatedRequest {
  const learner: LearnerContext = {
    ...drawThreadState(random),
    misconceptionFlagged: random() < MISCONCEPTION_FLAGGED_SHARE,
  };
  const text = pickTurnText(random);
  const earlierTurns = intBetween(random, 0, 8);
  return {
    routing: {
      task: 'TUTOR',
      difficulty: estimate({ ...text, recentFailures: learner.recentFailures, hintsGiven: learner.hintsGiven }),
      learner,
    },
    variableInputTokens: text.tokens + earlierTurns * mix.tutorHistoryTokensPerTurn,
  };
}

function grading(random: Random): SimulatedRequest {
  const exactAnswer = random() < EXACT_ANSWER_SHARE;
  const tokens = exactAnswer ? intBetween(random, 1, 12) : intBetween(random, 20, 250);
  const features = {
    tokens,
    uncommonWordShare: between(random, 0, 0.3),
    symbolsPerWord: between(random, 0, 0.2),
    reasoningCues: exactAnswer ? 0 : intBetween(random, 0, 2),
    recentFailures: 0,
    hintsGiven: 0,
  };
  return {
    routing: { task: 'GRADE_FREE_TEXT', difficulty: estimate(features), exactAnswer },
    variableInputTokens: tokens,
  };
}

function misconception(random: Random): SimulatedRequest {
  const tokens = intBetween(random, 3, 60);
  const features = {
    tokens,
    uncommonWordShare: between(random, 0, 0.3),
    symbolsPerWord: between(random, 0, 0.2),
    reasoningCues: 0,
    recentFailures: intBetween(random, 1, 3),
    hintsGiven: 0,
  };
  return { routing: { task: 'EXPLAIN_MISCONCEPTION', difficulty: estimate(features) }, variableInputTokens: tokens };
}

function generation(random: Random): SimulatedRequest {
  const technical = random() < TECHNICAL_LESSON_SHARE;
  const tokens = Math.round(Math.min(12_000, Math.max(300, 1_200 * Math.exp(0.6 * normal(random)))));
  const features = {
    tokens,
    uncommonWordShare: technical ? between(random, 0.15, 0.4) : between(random, 0.06, 0.22),
    symbolsPerWord: technical ? between(random, 0.1, 0.6) : between(random, 0, 0.08),
    reasoningCues: intBetween(random, 0, 6),
    recentFailures: 0,
    hintsGiven: 0,
  };
  const task: TaskType = random() < 0.5 ? 'FLASHCARD_EXTRACTION' : 'QUIZ_GENERATION';
  return { routing: { task, difficulty: estimate(features) }, variableInputTokens: tokens };
}

const perTier = <T>(make: () => T): Record<Tier, T> =>
  Object.fromEntries(TIERS.map((tier) => [tier, make()])) as Record<Tier, T>;

/** One simulated month of `users` active learners (see the top of this file); same seed, same result. */
export function simulateMonth({
  users,
  seed,
  tiers,
  policy = chooseTier,
  mix = DEFAULT_USAGE_MIX,
}: SimulateMonthOptions): MonthSimulation {
  if (!Number.isSafeInteger(users) || users <= 0)
    throw new RangeError(`users must be a positive integer, got ${users}`);
  const random = seededRandom(seed);
  const requests = perTier(() => 0);
  const tokens = perTier<Usage>(() => ({ inputTokens: 0, outputTokens: 0 }));
  const microUsd = perTier(() => 0);
  const byTask: Record<TaskType, number> = {
    FLASHCARD_EXTRACTION: 0,
    QUIZ_GENERATION: 0,
    TUTOR: 0,
    GRADE_FREE_TEXT: 0,
    EXPLAIN_MISCONCEPTION: 0,
  };
  let escalations = 0;
  let deterministicFallbacks = 0;

  const run = (request: SimulatedRequest) => {
    const { task } = request.routing;
    byTask[task]++;
    const prompt = mix.promptTokens[task];
    const usage: Usage = { inputTokens: prompt.fixedInput + request.variableInputTokens, outputTokens: prompt.output };
    // The cascade: a call whose output fails validation is repeated one tier up.
    for (let tier: Tier | null = policy(request.routing).tier; tier !== null;) {
      requests[tier]++;
      tokens[tier].inputTokens += usage.inputTokens;
      tokens[tier].outputTokens += usage.outputTokens;
      microUsd[tier] += costMicroUsd(tiers[tier], usage);
      if (random() >= mix.validationFailureRate[tier]) break;
      const next = escalate(tier);
      if (next === null) deterministicFallbacks++;
      else escalations++;
      tier = next;
    }
  };

  const month = mix.perLearnerMonth;
  for (let user = 0; user < users; user++) {
    for (let i = poisson(random, month.tutorTurns); i > 0; i--) run(tutorTurn(random, mix));
    for (let i = poisson(random, month.freeTextGradings); i > 0; i--) run(grading(random));
    for (let i = poisson(random, month.misconceptionExplanations); i > 0; i--) run(misconception(random));
    for (let i = poisson(random, month.generationRequests); i > 0; i--) run(generation(random));
  }

  const paidCalls = TIERS.reduce((sum, tier) => sum + requests[tier], 0);
  const share = (tier: Tier) => (paidCalls === 0 ? 0 : requests[tier] / paidCalls);
  const totalMicroUsd = TIERS.reduce((sum, tier) => sum + microUsd[tier], 0);
  return {
    users,
    requests,
    shares: { cheap_share: share('CHEAP'), mid_share: share('MID'), top_share: share('TOP') },
    tokens,
    microUsd,
    byTask,
    escalations,
    deterministicFallbacks,
    usd_per_user_month: microUsdToUsd(totalMicroUsd) / users,
  };
}
