/** A quiz grade is the best, the last or the average of the submitted attempts, and null without any. */
import { describe, expect, it } from 'vitest';
import { GRADING_POLICIES, parseGradingPolicy, quizGrade } from '../../src/domain/assessment/grading-policy.js';
import { refusal } from './fixtures.js';

const at = (iso: string) => new Date(iso);
// Listed out of time order on purpose: LAST must go by submittedAt, not by position.
const attempts = [
  { score: 60, submittedAt: at('2026-03-01T10:00:00Z') },
  { score: 40, submittedAt: at('2026-03-03T10:00:00Z') },
  { score: 90, submittedAt: at('2026-03-02T10:00:00Z') },
];

describe('quizGrade', () => {
  it('BEST is the highest score', () => {
    expect(quizGrade('BEST', attempts)).toBe(90);
  });

  it('LAST is the score of the latest submission', () => {
    expect(quizGrade('LAST', attempts)).toBe(40);
    expect(quizGrade('LAST', attempts.slice(0, 1))).toBe(60);
  });

  it('LAST takes the later in the list of two submitted at the same instant', () => {
    const same = at('2026-03-05T00:00:00Z');
    expect(quizGrade('LAST', [...attempts, { score: 10, submittedAt: same }, { score: 20, submittedAt: same }])).toBe(
      20,
    );
  });

  it('AVERAGE is the mean score', () => {
    expect(quizGrade('AVERAGE', attempts)).toBeCloseTo((60 + 40 + 90) / 3, 12);
  });

  it('is null without attempts, whatever the policy', () => {
    for (const policy of GRADING_POLICIES) expect(quizGrade(policy, [])).toBeNull();
  });
});

describe('parseGradingPolicy', () => {
  it('accepts the three policies and refuses others, naming the field', () => {
    expect(GRADING_POLICIES.map((p) => parseGradingPolicy(p))).toEqual(['BEST', 'LAST', 'AVERAGE']);
    expect(refusal(() => parseGradingPolicy('FIRST'), 'gradingPolicy')).toMatch(/BEST, LAST, AVERAGE/);
    refusal(() => parseGradingPolicy('best', 'input.gradingPolicy'), 'input.gradingPolicy');
  });
});
