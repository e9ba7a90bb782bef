import type { SubgraphContext } from '@coursegraph/service-kit';
import type { PrismaClient } from './data/db.js';
import type { Budgets } from './domain/routing/budget.js';
import type { Generator } from './domain/generation.js';
import type { Tutor } from './domain/tutoring.js';

/** The ai context's services, built once by app.ts and shared by every request. */
export interface AiServices {
  tutor: Tutor;
  generator: Generator;
  /** Learners' budgets (the tutor). */
  budgets: Budgets;
  /** Generated material's budgets, per course. */
  courseBudgets: Budgets;
  userDailyBudgetMicroUsd: number;
}

/** What every ai resolver receives: the kit's shared fields (viewer, requestId, logger, traceparent) and ai's own. */
export interface Context extends SubgraphContext, Record<string, unknown> {
  db: PrismaClient;
  ai: AiServices;
}

/** An entity owned by another subgraph, referred to by id only (User, Lesson). */
export interface EntityRef {
  id: string;
}
