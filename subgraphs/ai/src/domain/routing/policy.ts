/**
 * The routing policy: which tier answers a request, from the task, how hard the request looks
 * (difficulty.ts) and where the learner stands. Pure functions; the caller records the reasons.
 *
 * It starts from the architecture's mapping (generation CHEAP, the tutor MID, complex reasoning
 * TOP) and moves a request down when it is easy and up when it is hard, the RouteLLM idea (a
 * router keeps ~95 % of the top model's quality at under half its cost) without a learned router.
 * A tier whose output fails validation hands the request to the next one (`escalate`), the
 * FrugalGPT cascade; past TOP the deterministic provider answers.
 *
 * | task                   | starts | moves to                                                          |
 * | ---------------------- | ------ | ----------------------------------------------------------------- |
 * | FLASHCARD_EXTRACTION,  | CHEAP  | MID for a long lesson (> 4,000 tokens) or a dense one (≥ 25 % of  |
 * | QUIZ_GENERATION        |        | its words long/technical, or ≥ 0.3 symbols per word)              |
 * | TUTOR                  | MID    | TOP when a misconception is flagged, or the learner is stuck      |
 * |                        |        | (≥ 3 hints given and ≥ 2 recent failures); else CHEAP for an easy |
 * |                        |        | recall turn (difficulty < 0.35, ≤ 60 tokens, no why/how cue)      |
 * | GRADE_FREE_TEXT        | TOP    | CHEAP when the item expects one exact answer (a number, a term)   |
 * |                        |        | and the learner's answer is short (≤ 30 tokens)                   |
 * | EXPLAIN_MISCONCEPTION  | TOP    | — (always TOP)                                                    |
 *
 * The rules are checked top to bottom within a row; the first that holds decides.
 */
import { TIERS, type TaskType, type Tier } from '../../providers/provider.js';
import type { DifficultyEstimate } from './difficulty.js';

export interface LearnerContext {
  /** Hints already given on this tutor thread. */
  hintsGiven: number;
  /** The learner's wrong answers on this lesson lately. */
  recentFailures: number;
  /** A known misconception was recognised in the learner's answers (by the learning context's item data). */
  misconceptionFlagged: boolean;
}

export interface RoutingInput {
  task: TaskType;
  /**
   * Of the text the model works on: the learner's message (TUTOR), the lesson text (generation),
   * the learner's answer (GRADE_FREE_TEXT), the wrong answer (EXPLAIN_MISCONCEPTION).
   */
  difficulty: DifficultyEstimate;
  /** For a learner's request; absent for an instructor's generation. */
  learner?: LearnerContext;
  /** GRADE_FREE_TEXT: the item expects one exact answer, so grading is comparison rather than judgement. */
  exactAnswer?: boolean;
}

export interface RoutingDecision {
  tier: Tier;
  /** Why, in words, for the call record and the ADR's examples. */
  reasons: string[];
}

export type RoutingPolicy = (input: RoutingInput) => RoutingDecision;

/** The thresholds in the table above, named so tests and the ADR refer to the same numbers. */
export const POLICY_THRESHOLDS = Object.freeze({
  longLessonTokens: 4_000,
  denseUncommonWordShare: 0.25,
  denseSymbolsPerWord: 0.3,
  stuckAfterHints: 3,
  stuckAfterFailures: 2,
  easyTurnMaxScore: 0.35,
  easyTurnMaxTokens: 60,
  shortAnswerMaxTokens: 30,
});

/** The tier the architecture maps each task to, before the request is looked at. */
export const TASK_START_TIER: Readonly<Record<TaskType, Tier>> = Object.freeze({
  FLASHCARD_EXTRACTION: 'CHEAP',
  QUIZ_GENERATION: 'CHEAP',
  TUTOR: 'MID',
  GRADE_FREE_TEXT: 'TOP',
  EXPLAIN_MISCONCEPTION: 'TOP',
});

function routeGeneration({ difficulty }: RoutingInput): RoutingDecision {
  const t = POLICY_THRESHOLDS;
  const f = difficulty.features;
  if (f.tokens > t.longLessonTokens)
    return { tier: 'MID', reasons: [`long lesson: ${f.tokens} tokens > ${t.longLessonTokens}`] };
  if (f.uncommonWordShare >= t.denseUncommonWordShare)
    return {
      tier: 'MID',
      reasons: [
        `dense lesson: ${percent(f.uncommonWordShare)} of words long or technical ≥ ${percent(t.denseUncommonWordShare)}`,
      ],
    };
  if (f.symbolsPerWord >= t.denseSymbolsPerWord)
    return {
      tier: 'MID',
      reasons: [`dense lesson: ${f.symbolsPerWord.toFixed(2)} numbers/symbols per word ≥ ${t.denseSymbolsPerWord}`],
    };
  return { tier: 'CHEAP', reasons: ['generation from an ordinary lesson'] };
}

function routeTutor({ difficulty, learner }: RoutingInput): RoutingDecision {
  const t = POLICY_THRESHOLDS;
  if (learner?.misconceptionFlagged) return { tier: 'TOP', reasons: ['a misconception is flagged'] };
  if (learner && learner.hintsGiven >= t.stuckAfterHints && learner.recentFailures >= t.stuckAfterFailures)
    return {
      tier: 'TOP',
      reasons: [`stuck: ${learner.hintsGiven} hints given and ${learner.recentFailures} recent failures`],
    };
  const f = difficulty.features;
  const hardness: string[] = [];
  if (difficulty.score >= t.easyTurnMaxScore)
    hardness.push(`difficulty ${difficulty.score.toFixed(2)} ≥ ${t.easyTurnMaxScore}`);
  if (f.tokens > t.easyTurnMaxTokens) hardness.push(`${f.tokens} tokens > ${t.easyTurnMaxTokens}`);
  if (f.reasoningCues > 0) hardness.push('asks for reasoning (why/how/compare…)');
  if (hardness.length === 0)
    return {
      tier: 'CHEAP',
      reasons: [`easy recall turn: difficulty ${difficulty.score.toFixed(2)}, ${f.tokens} tokens`],
    };
  return { tier: 'MID', reasons: ['tutor turn', ...hardness] };
}

function routeGrading({ difficulty, exactAnswer }: RoutingInput): RoutingDecision {
  const tokens = difficulty.features.tokens;
  if (exactAnswer && tokens <= POLICY_THRESHOLDS.shortAnswerMaxTokens)
    return { tier: 'CHEAP', reasons: [`short answer (${tokens} tokens) to an item with one exact answer`] };
  return {
    tier: 'TOP',
    reasons: [exactAnswer ? `long answer (${tokens} tokens) needs judgement` : 'free-text answer needs judgement'],
  };
}

/** The tier for a request, with the reasons (see the table at the top of this file). */
export function chooseTier(input: RoutingInput): RoutingDecision {
  switch (input.task) {
    case 'FLASHCARD_EXTRACTION':
    case 'QUIZ_GENERATION':
      return routeGeneration(input);
    case 'TUTOR':
      return routeTutor(input);
    case 'GRADE_FREE_TEXT':
      return routeGrading(input);
    case 'EXPLAIN_MISCONCEPTION':
      return { tier: 'TOP', reasons: ['explaining a misconception is complex reasoning'] };
    default:
      throw new RangeError(`no routing rule for task ${String((input as { task: unknown }).task)}`);
  }
}

/** The next tier up, for a request whose output failed validation; null past the top. */
export function escalate(tier: Tier): Tier | null {
  return TIERS[TIERS.indexOf(tier) + 1] ?? null;
}

const percent = (share: number) => `${Math.round(share * 100)} %`;
