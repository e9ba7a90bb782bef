/**
 * The one path of every model call: the routing policy picks a tier, the budgets reserve its worst
 * cost, the provider answers, the output is validated, and a tier whose output fails validation
 * hands the request to the next one (FrugalGPT's cascade). Whenever a model cannot or may not
 * answer (over a budget, the provider down or refusing, every tier's output invalid, or an answer
 * withheld), the deterministic provider answers and the reason travels with the reply. Every call,
 * the failed ones too, is recorded with its tokens, tier, latency and cost.
 */
import type { Logger } from '@coursegraph/service-kit';
import { recordModelCall, type CallOutcome } from '../data/model-calls.js';
import type { PrismaClient } from '../data/db.js';
import {
  estimateTokens,
  ProviderError,
  type ChatMessage,
  type Completion,
  type ModelProvider,
  type ModelRequest,
  type TaskInput,
  type TaskType,
  type Tier,
} from '../providers/provider.js';
import type { Budgets } from './routing/budget.js';
import { chooseTier, escalate, type RoutingInput } from './routing/policy.js';
import { costMicroUsd, type TierTable } from './routing/tiers.js';

/** Why the deterministic provider answered instead of a model. */
export type FallbackReason =
  | 'OVER_USER_BUDGET'
  | 'OVER_GLOBAL_BUDGET'
  | 'BUDGET_UNAVAILABLE'
  | 'PROVIDER_UNAVAILABLE'
  | 'INVALID_OUTPUT'
  | 'ANSWER_WITHHELD'
  | 'DUPLICATE_REQUEST';

/** What a learner is told when the deterministic provider answered for a model. */
export const FALLBACK_NOTICES: Record<FallbackReason, string> = {
  OVER_USER_BUDGET: "You have used today's AI allowance, so the built-in tutor answers until tomorrow.",
  OVER_GLOBAL_BUDGET: "The platform has used today's AI allowance, so the built-in tutor answers for now.",
  BUDGET_UNAVAILABLE: 'The AI service cannot check its allowance right now, so the built-in tutor answers.',
  PROVIDER_UNAVAILABLE: 'The AI model is not answering right now, so the built-in tutor answers.',
  INVALID_OUTPUT: "The AI model's answer did not pass our checks, so the built-in tutor answers.",
  ANSWER_WITHHELD: "The AI model's answer would have given away a quiz answer, so the built-in tutor answers.",
  DUPLICATE_REQUEST: 'This request was already sent to the AI model; the built-in tutor answers it again at no cost.',
};

export interface ModelRuntime {
  db: PrismaClient;
  /** The configured provider (anthropic, or the deterministic one when that is the default). */
  provider: ModelProvider;
  deterministic: ModelProvider;
  tiers: TierTable;
  /** Learners' budgets: per learner and day, and for the platform. */
  budgets: Budgets;
  /**
   * Generated material's budgets, apart from learners': per course and day, and for the platform.
   * A publication's generation is the course's spending, not its instructor's tutor allowance.
   */
  courseBudgets: Budgets;
  timeoutMs: number;
  logger: Logger;
}

export interface ModelCallSpec {
  /** The caller's idempotency key: a retry of the same call is not charged twice. */
  callId: string;
  /** Who the call serves (recorded with it). */
  userId: string;
  /** Whose budget pays: the learner's (`userId`), or for generated material the course's. */
  budget: 'LEARNER' | 'COURSE';
  courseId: string | null;
  requestId: string | null;
  task: TaskInput;
  routing: RoutingInput;
  /** The prompt for a model (tier-independent); the deterministic provider reads `task` instead. */
  prompt: { system: string; messages: ChatMessage[]; maxTokens: number };
  /** Why a model's output may not be used (it then escalates), or null when it may. */
  validate: (text: string) => string | null;
  now: Date;
}

export interface ModelAnswer {
  text: string;
  tier: Tier | 'DETERMINISTIC';
  fallbackReason: FallbackReason | null;
  costMicroUsd: number;
}

const taskType = (task: TaskInput): TaskType => task.kind;

export function createModelRouter(rt: ModelRuntime) {
  const payer = (spec: ModelCallSpec) =>
    spec.budget === 'COURSE' && spec.courseId
      ? { budgets: rt.courseBudgets, owner: spec.courseId }
      : { budgets: rt.budgets, owner: spec.userId };

  const record = (
    spec: ModelCallSpec,
    tier: Tier | 'DETERMINISTIC',
    provider: string,
    model: string,
    completion: Pick<Completion, 'usage'> | null,
    cost: number,
    started: number,
    outcome: CallOutcome,
    escalatedFrom: Tier | null,
  ) =>
    recordModelCall(rt.db, {
      userId: spec.userId,
      courseId: spec.courseId,
      task: taskType(spec.task),
      tier,
      provider,
      model,
      inputTokens: completion?.usage.inputTokens ?? 0,
      outputTokens: completion?.usage.outputTokens ?? 0,
      costMicroUsd: cost,
      latencyMs: Math.round(performance.now() - started),
      outcome,
      escalatedFrom,
      requestId: spec.requestId,
    });

  const request = (spec: ModelCallSpec, tier: Tier): ModelRequest => ({
    task: spec.task,
    tier,
    model: rt.tiers[tier].model,
    system: spec.prompt.system,
    messages: spec.prompt.messages,
    maxTokens: spec.prompt.maxTokens,
    timeoutMs: rt.timeoutMs,
  });

  /** The worst a call can cost: the whole prompt in, maxTokens out. */
  const estimate = (spec: ModelCallSpec, tier: Tier) =>
    costMicroUsd(rt.tiers[tier], {
      inputTokens: estimateTokens([spec.prompt.system, ...spec.prompt.messages.map((m) => m.content)].join('\n')),
      outputTokens: spec.prompt.maxTokens,
    });

  async function deterministicAnswer(
    spec: ModelCallSpec,
    reason: FallbackReason | null,
    escalatedFrom: Tier | null,
  ): Promise<ModelAnswer> {
    const started = performance.now();
    const completion = await rt.deterministic.complete(request(spec, 'CHEAP'));
    await record(spec, 'DETERMINISTIC', 'deterministic', completion.model, completion, 0, started, 'OK', escalatedFrom);
    return { text: completion.text, tier: 'DETERMINISTIC', fallbackReason: reason, costMicroUsd: 0 };
  }

  const refusalReason = (scope: 'user' | 'global' | 'unavailable'): FallbackReason =>
    scope === 'user' ? 'OVER_USER_BUDGET' : scope === 'global' ? 'OVER_GLOBAL_BUDGET' : 'BUDGET_UNAVAILABLE';

  /** One call at `tier`: the completion, or why the deterministic provider must answer. */
  async function callTier(
    spec: ModelCallSpec,
    tier: Tier,
    escalatedFrom: Tier | null,
  ): Promise<{ completion: Completion; cost: number } | { fallback: FallbackReason }> {
    const { budgets, owner } = payer(spec);
    const reserved = await budgets.reserve({
      callId: `${spec.callId}:${tier}`,
      userId: owner,
      estimateMicroUsd: estimate(spec, tier),
      now: spec.now,
    });
    if (!reserved.ok) {
      await record(
        spec,
        tier,
        rt.provider.name,
        rt.tiers[tier].model,
        null,
        0,
        performance.now(),
        'OVER_BUDGET',
        escalatedFrom,
      );
      return { fallback: refusalReason(reserved.scope) };
    }
    // The same call id already reached this tier (a retried request): never call and charge twice.
    if (reserved.replayOf !== null) return { fallback: 'DUPLICATE_REQUEST' };
    const started = performance.now();
    try {
      const completion = await rt.provider.complete(request(spec, tier));
      const cost = costMicroUsd(rt.tiers[tier], completion.usage);
      await budgets.settle(reserved.reservation, cost);
      return { completion, cost };
    } catch (err) {
      await budgets.release(reserved.reservation);
      if (!(err instanceof ProviderError)) throw err;
      rt.logger.warn(
        { tier, kind: err.kind, err: err.message },
        'model call failed: the deterministic provider answers',
      );
      await record(
        spec,
        tier,
        rt.provider.name,
        rt.tiers[tier].model,
        null,
        0,
        started,
        'PROVIDER_ERROR',
        escalatedFrom,
      );
      return { fallback: 'PROVIDER_UNAVAILABLE' };
    }
  }

  return {
    /** Routes, calls, validates and escalates; answers with the deterministic provider when no model may. */
    async complete(spec: ModelCallSpec): Promise<ModelAnswer> {
      if (rt.provider.name === 'deterministic') return deterministicAnswer(spec, null, null);
      let tier: Tier | null = chooseTier(spec.routing).tier;
      let escalatedFrom: Tier | null = null;
      let spent = 0;
      while (tier) {
        const started = performance.now();
        const result = await callTier(spec, tier, escalatedFrom);
        if ('fallback' in result)
          return { ...(await deterministicAnswer(spec, result.fallback, tier)), costMicroUsd: spent };
        spent += result.cost;
        const problem = spec.validate(result.completion.text);
        await record(
          spec,
          tier,
          rt.provider.name,
          result.completion.model,
          result.completion,
          result.cost,
          started,
          problem === null ? 'OK' : 'INVALID_OUTPUT',
          escalatedFrom,
        );
        if (problem === null) return { text: result.completion.text, tier, fallbackReason: null, costMicroUsd: spent };
        rt.logger.info({ tier, problem }, 'model output failed validation: escalating');
        escalatedFrom = tier;
        tier = escalate(tier);
      }
      return { ...(await deterministicAnswer(spec, 'INVALID_OUTPUT', escalatedFrom)), costMicroUsd: spent };
    },

    /**
     * Streams a reply (the tutor's) to `emit` in whole sentences, each sent only once the reply so
     * far passes `validate` (the answer-leak guard): a reply that would give an answer away stops
     * before that sentence, and the deterministic provider finishes it, saying why. A tutor turn is
     * not escalated mid-reply: what was sent stays sent.
     */
    async stream(spec: ModelCallSpec, emit: (text: string) => Promise<void>): Promise<ModelAnswer> {
      async function fallback(reason: FallbackReason | null, from: Tier | null, sent: string): Promise<ModelAnswer> {
        const started = performance.now();
        let text = sent;
        const say = async (piece: string) => {
          text += piece;
          await emit(piece);
        };
        if (reason) await say(`${sent ? '\n\n' : ''}${FALLBACK_NOTICES[reason]}\n\n`);
        let completion: Completion | null = null;
        for await (const event of rt.deterministic.stream(request(spec, 'CHEAP'))) {
          if (event.type === 'delta') await say(event.text);
          else completion = event.completion;
        }
        await record(
          spec,
          'DETERMINISTIC',
          'deterministic',
          completion?.model ?? 'deterministic',
          completion,
          0,
          started,
          'OK',
          from,
        );
        return { text, tier: 'DETERMINISTIC', fallbackReason: reason, costMicroUsd: 0 };
      }

      if (rt.provider.name === 'deterministic') return fallback(null, null, '');
      const tier = chooseTier(spec.routing).tier;
      const model = rt.tiers[tier].model;
      const { budgets, owner } = payer(spec);
      const reserved = await budgets.reserve({
        callId: `${spec.callId}:${tier}`,
        userId: owner,
        estimateMicroUsd: estimate(spec, tier),
        now: spec.now,
      });
      if (!reserved.ok) {
        await record(spec, tier, rt.provider.name, model, null, 0, performance.now(), 'OVER_BUDGET', null);
        return fallback(refusalReason(reserved.scope), tier, '');
      }
      if (reserved.replayOf !== null) return fallback('DUPLICATE_REQUEST', tier, '');

      const started = performance.now();
      let sent = '';
      let buffer = '';
      let completion: Completion | null = null;
      let outcome: CallOutcome = 'OK';
      try {
        for await (const event of rt.provider.stream(request(spec, tier))) {
          if (event.type === 'done') {
            completion = event.completion;
            break;
          }
          buffer += event.text;
          const { ready, rest } = takeSentences(buffer, false);
          if (ready === '') continue;
          if (spec.validate(sent + ready) !== null) {
            outcome = 'LEAK_BLOCKED';
            break; // leaving the loop closes the provider's stream
          }
          sent += ready;
          buffer = rest;
          await emit(ready);
        }
        if (outcome === 'OK' && buffer !== '') {
          if (spec.validate(sent + buffer) !== null) outcome = 'LEAK_BLOCKED';
          else {
            sent += buffer;
            await emit(buffer);
          }
        }
      } catch (err) {
        if (!(err instanceof ProviderError)) {
          await budgets.release(reserved.reservation);
          throw err;
        }
        rt.logger.warn(
          { tier, kind: err.kind, err: err.message },
          'tutor stream failed: the deterministic tutor answers',
        );
        outcome = 'PROVIDER_ERROR';
      }
      // A call that failed before any of its reply was used is not charged, and records no tokens
      // (as a failed complete() does). A reply cut short otherwise has no usage from the provider:
      // its tokens are estimated from the text.
      const unused = outcome === 'PROVIDER_ERROR' && sent === '';
      const usage = completion?.usage ?? {
        inputTokens: unused
          ? 0
          : estimateTokens([spec.prompt.system, ...spec.prompt.messages.map((m) => m.content)].join('\n')),
        outputTokens: unused ? 0 : estimateTokens(sent + buffer),
      };
      const cost = unused ? 0 : costMicroUsd(rt.tiers[tier], usage);
      if (cost === 0) await budgets.release(reserved.reservation);
      else await budgets.settle(reserved.reservation, cost);
      await record(spec, tier, rt.provider.name, completion?.model ?? model, { usage }, cost, started, outcome, null);
      if (outcome === 'LEAK_BLOCKED') return { ...(await fallback('ANSWER_WITHHELD', tier, sent)), costMicroUsd: cost };
      if (outcome === 'PROVIDER_ERROR')
        return { ...(await fallback('PROVIDER_UNAVAILABLE', tier, sent)), costMicroUsd: cost };
      return { text: sent, tier, fallbackReason: null, costMicroUsd: cost };
    },
  };
}

export type ModelRouter = ReturnType<typeof createModelRouter>;

/** A stretch of a streamed reply, emitted only once its text passed the spec's validation. */
export interface StreamedPiece {
  text: string;
}

/** Whole sentences (or long runs without one) are the unit a streamed reply is checked and sent in. */
export function takeSentences(buffer: string, final: boolean): { ready: string; rest: string } {
  if (final) return { ready: buffer, rest: '' };
  const end = Math.max(
    buffer.lastIndexOf('. '),
    buffer.lastIndexOf('? '),
    buffer.lastIndexOf('! '),
    buffer.lastIndexOf('\n'),
  );
  if (end >= 0) return { ready: buffer.slice(0, end + 1), rest: buffer.slice(end + 1) };
  return buffer.length > 400 ? { ready: buffer, rest: '' } : { ready: '', rest: buffer };
}
