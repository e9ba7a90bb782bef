/** How a learner's attempts at a quiz make one grade: the best, the last or the average. */
import { badInput } from '@coursegraph/service-kit';

/** The grading policies, in the order an authoring UI offers them. */
export const GRADING_POLICIES = ['BEST', 'LAST', 'AVERAGE'] as const;
/** One of GRADING_POLICIES. */
export type GradingPolicy = (typeof GRADING_POLICIES)[number];

/** A submitted attempt, as a grade sees it; `score` in any one unit (the grade is in the same unit). */
export interface GradedAttempt {
  score: number;
  submittedAt: Date;
}

/** Checks a policy name (field `gradingPolicy` unless told), refusing anything else. */
export function parseGradingPolicy(value: unknown, field = 'gradingPolicy'): GradingPolicy {
  if (!GRADING_POLICIES.includes(value as GradingPolicy))
    throw badInput(`${field} must be one of ${GRADING_POLICIES.join(', ')} (got ${JSON.stringify(value)}).`, field);
  return value as GradingPolicy;
}

/**
 * The quiz grade of submitted `attempts` under `policy`, or null when there are none:
 * BEST the highest score; LAST the score of the latest `submittedAt` (of two submitted at the same
 * instant, the later in the list, so a caller listing attempts in creation order gets the newer);
 * AVERAGE the mean of all scores. Attempts in progress must not be passed.
 */
export function quizGrade(policy: GradingPolicy, attempts: readonly GradedAttempt[]): number | null {
  if (attempts.length === 0) return null;
  switch (policy) {
    case 'BEST':
      return Math.max(...attempts.map((a) => a.score));
    case 'LAST': {
      let last = attempts[0] as GradedAttempt;
      for (const a of attempts) if (a.submittedAt.getTime() >= last.submittedAt.getTime()) last = a;
      return last.score;
    }
    case 'AVERAGE':
      return attempts.reduce((sum, a) => sum + a.score, 0) / attempts.length;
  }
}
