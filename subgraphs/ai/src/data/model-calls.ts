/**
 * The record of every model call (ai.model_calls) and what the cost report reads from it. The record
 * is the ground truth of spending: budgets in Redis are a fast ceiling, this is the ledger.
 */
import { newId } from '@coursegraph/service-kit';
import type { Tier, TaskType } from '../providers/provider.js';
import type { PrismaClient } from './db.js';

export type CallOutcome = 'OK' | 'INVALID_OUTPUT' | 'LEAK_BLOCKED' | 'PROVIDER_ERROR' | 'OVER_BUDGET';

export interface ModelCallRecord {
  userId: string;
  courseId: string | null;
  task: TaskType;
  /** The tier that answered, or DETERMINISTIC for the embedded provider. */
  tier: Tier | 'DETERMINISTIC';
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  costMicroUsd: number;
  latencyMs: number;
  outcome: CallOutcome;
  escalatedFrom: Tier | null;
  requestId: string | null;
}

export async function recordModelCall(db: PrismaClient, call: ModelCallRecord): Promise<void> {
  await db.modelCall.create({ data: { id: newId(), ...call, costMicroUsd: BigInt(call.costMicroUsd) } });
}

export interface TierShareRow {
  tier: Tier | 'DETERMINISTIC';
  calls: number;
  share: number;
  inputTokens: number;
  outputTokens: number;
  usd: number;
}

export interface CostReport {
  from: Date;
  to: Date;
  activeUsers: number;
  calls: number;
  totalUsd: number;
  usdPerActiveUserMonth: number;
  tiers: TierShareRow[];
}

const TIER_ORDER = ['CHEAP', 'MID', 'TOP', 'DETERMINISTIC'] as const;

/**
 * Cost per active user per month and the split across tiers over the `days` before `to`, in one
 * grouped query. A user is active when a call served them in the period; the period's total is
 * scaled to 30 days. Calls that failed before a model answered (tokens 0) count for nothing.
 */
export async function costReport(db: PrismaClient, days: number, to: Date): Promise<CostReport> {
  const from = new Date(to.getTime() - days * 86_400_000);
  const rows = await db.$queryRaw<
    { tier: string; calls: bigint; input_tokens: bigint; output_tokens: bigint; cost: bigint }[]
  >`
    select tier, count(*) as calls, coalesce(sum(input_tokens), 0)::bigint as input_tokens,
           coalesce(sum(output_tokens), 0)::bigint as output_tokens, coalesce(sum(cost_micro_usd), 0)::bigint as cost
      from model_calls
     where created_at >= ${from} and created_at < ${to} and outcome <> 'PROVIDER_ERROR'
     group by tier`;
  const [users] = await db.$queryRaw<{ n: bigint }[]>`
    select count(distinct user_id) as n from model_calls where created_at >= ${from} and created_at < ${to}`;
  const calls = rows.reduce((n, r) => n + Number(r.calls), 0);
  const totalMicro = rows.reduce((n, r) => n + Number(r.cost), 0);
  const activeUsers = Number(users?.n ?? 0);
  const totalUsd = totalMicro / 1_000_000;
  const tiers = TIER_ORDER.map((tier) => {
    const r = rows.find((x) => x.tier === tier);
    const n = r ? Number(r.calls) : 0;
    return {
      tier,
      calls: n,
      share: calls === 0 ? 0 : n / calls,
      inputTokens: r ? Number(r.input_tokens) : 0,
      outputTokens: r ? Number(r.output_tokens) : 0,
      usd: r ? Number(r.cost) / 1_000_000 : 0,
    };
  });
  return {
    from,
    to,
    activeUsers,
    calls,
    totalUsd,
    usdPerActiveUserMonth: activeUsers === 0 ? 0 : (totalUsd / activeUsers) * (30 / days),
    tiers,
  };
}
