import { describe, expect, it } from 'vitest';
import { TIERS, type TaskType, type Tier } from '../../src/providers/provider.js';
import { estimateDifficulty, scoreDifficulty, type DifficultyFeatures } from '../../src/domain/routing/difficulty.js';
import {
  chooseTier,
  escalate,
  POLICY_THRESHOLDS as T,
  TASK_START_TIER,
  type LearnerContext,
  type RoutingInput,
} from '../../src/domain/routing/policy.js';

/** An estimate with the given features (the rest plain), scored as the real estimator scores it. */
function difficulty(features: Partial<DifficultyFeatures> = {}) {
  const all: DifficultyFeatures = {
    tokens: 20,
    uncommonWordShare: 0.1,
    symbolsPerWord: 0,
    reasoningCues: 0,
    recentFailures: 0,
    hintsGiven: 0,
    ...features,
  };
  return { score: scoreDifficulty(all), features: all };
}

const learner = (over: Partial<LearnerContext> = {}): LearnerContext => ({
  hintsGiven: 0,
  recentFailures: 0,
  misconceptionFlagged: false,
  ...over,
});

const tierOf = (input: RoutingInput): Tier => chooseTier(input).tier;

describe('chooseTier: the policy table, row by row', () => {
  describe.each(['FLASHCARD_EXTRACTION', 'QUIZ_GENERATION'] as const)('%s', (task) => {
    it('CHEAP for an ordinary lesson', () => {
      const lesson =
        'A cell is the smallest unit of life. Every cell has a membrane that controls what enters and leaves it. ' +
        'Plant cells also have a wall made of cellulose, and they hold chloroplasts where light becomes sugar.';
      const decision = chooseTier({ task, difficulty: estimateDifficulty(lesson.repeat(6)) });
      expect(decision).toEqual({ tier: 'CHEAP', reasons: ['generation from an ordinary lesson'] });
    });

    it('MID for a long lesson', () => {
      expect(tierOf({ task, difficulty: difficulty({ tokens: T.longLessonTokens }) })).toBe('CHEAP');
      const decision = chooseTier({ task, difficulty: difficulty({ tokens: T.longLessonTokens + 1 }) });
      expect(decision.tier).toBe('MID');
      expect(decision.reasons[0]).toMatch(/^long lesson: 4001 tokens > 4000/);
    });

    it('MID for a dense lesson: technical vocabulary, or formulas and code', () => {
      expect(tierOf({ task, difficulty: difficulty({ uncommonWordShare: T.denseUncommonWordShare }) })).toBe('MID');
      expect(tierOf({ task, difficulty: difficulty({ symbolsPerWord: T.denseSymbolsPerWord }) })).toBe('MID');
      const numbers =
        'The table lists 12, 15, 18 and 21 items; 21 - 18 = 3 and 18 - 15 = 3, so each step adds 3. '.repeat(10);
      expect(chooseTier({ task, difficulty: estimateDifficulty(numbers) }).reasons[0]).toMatch(
        /^dense lesson: .* per word/,
      );
      const code = 'Call `parseInt(raw, 10)` on each rawValue; the resultArray holds the numbers. '.repeat(10);
      expect(chooseTier({ task, difficulty: estimateDifficulty(code) }).reasons[0]).toMatch(
        /^dense lesson: .* long or technical/,
      );
    });
  });

  describe('TUTOR', () => {
    it('CHEAP for an easy, short recall turn', () => {
      const decision = chooseTier({
        task: 'TUTOR',
        difficulty: estimateDifficulty('What is a mutex?'),
        learner: learner(),
      });
      expect(decision.tier).toBe('CHEAP');
      expect(decision.reasons[0]).toMatch(/^easy recall turn/);
    });

    it('MID (its start) for a why/how question, a long message or a hard-looking turn', () => {
      const why = estimateDifficulty('Why does a mutex prevent the race here?');
      expect(chooseTier({ task: 'TUTOR', difficulty: why, learner: learner() })).toEqual({
        tier: 'MID',
        reasons: ['tutor turn', 'asks for reasoning (why/how/compare…)'],
      });
      expect(
        tierOf({ task: 'TUTOR', difficulty: difficulty({ tokens: T.easyTurnMaxTokens + 1 }), learner: learner() }),
      ).toBe('MID');
      // Short, no cue, but the learner keeps failing: the score crosses the easy line.
      const struggling = difficulty({ recentFailures: 3, hintsGiven: 2 });
      expect(struggling.score).toBeGreaterThanOrEqual(T.easyTurnMaxScore);
      expect(
        tierOf({ task: 'TUTOR', difficulty: struggling, learner: learner({ recentFailures: 3, hintsGiven: 2 }) }),
      ).toBe('MID');
    });

    it('TOP for a learner stuck after several hints, and not before', () => {
      const stuck = learner({ hintsGiven: T.stuckAfterHints, recentFailures: T.stuckAfterFailures });
      expect(chooseTier({ task: 'TUTOR', difficulty: difficulty(), learner: stuck })).toEqual({
        tier: 'TOP',
        reasons: ['stuck: 3 hints given and 2 recent failures'],
      });
      const fewerHints = learner({ hintsGiven: T.stuckAfterHints - 1, recentFailures: 5 });
      const fewerFailures = learner({ hintsGiven: 9, recentFailures: T.stuckAfterFailures - 1 });
      expect(tierOf({ task: 'TUTOR', difficulty: difficulty(), learner: fewerHints })).not.toBe('TOP');
      expect(tierOf({ task: 'TUTOR', difficulty: difficulty(), learner: fewerFailures })).not.toBe('TOP');
    });

    it('TOP for a flagged misconception, even on an easy turn', () => {
      const decision = chooseTier({
        task: 'TUTOR',
        difficulty: estimateDifficulty('ok'),
        learner: learner({ misconceptionFlagged: true }),
      });
      expect(decision).toEqual({ tier: 'TOP', reasons: ['a misconception is flagged'] });
    });
  });

  describe('GRADE_FREE_TEXT', () => {
    it('CHEAP for a short answer to an item with one exact answer', () => {
      const answer = estimateDifficulty('photosynthesis');
      expect(tierOf({ task: 'GRADE_FREE_TEXT', difficulty: answer, exactAnswer: true })).toBe('CHEAP');
    });

    it('TOP (its start) for an open answer, or a long one to an exact item', () => {
      const answer = estimateDifficulty('photosynthesis');
      expect(tierOf({ task: 'GRADE_FREE_TEXT', difficulty: answer })).toBe('TOP');
      const long = difficulty({ tokens: T.shortAnswerMaxTokens + 1 });
      expect(chooseTier({ task: 'GRADE_FREE_TEXT', difficulty: long, exactAnswer: true })).toEqual({
        tier: 'TOP',
        reasons: ['long answer (31 tokens) needs judgement'],
      });
    });
  });

  describe('EXPLAIN_MISCONCEPTION', () => {
    it('TOP always, however easy the text looks', () => {
      expect(tierOf({ task: 'EXPLAIN_MISCONCEPTION', difficulty: estimateDifficulty('7') })).toBe('TOP');
    });
  });

  it('starts every task where the architecture maps it', () => {
    expect(TASK_START_TIER).toEqual({
      FLASHCARD_EXTRACTION: 'CHEAP',
      QUIZ_GENERATION: 'CHEAP',
      TUTOR: 'MID',
      GRADE_FREE_TEXT: 'TOP',
      EXPLAIN_MISCONCEPTION: 'TOP',
    });
  });

  it('refuses a task it has no rule for', () => {
    const input = { task: 'WRITE_ESSAY' as TaskType, difficulty: difficulty() };
    expect(() => chooseTier(input)).toThrow(/no routing rule for task WRITE_ESSAY/);
  });
});

describe('escalate', () => {
  it('goes CHEAP → MID → TOP → null, one tier at a time', () => {
    expect(escalate('CHEAP')).toBe('MID');
    expect(escalate('MID')).toBe('TOP');
    expect(escalate('TOP')).toBeNull();
    const chain: Tier[] = [];
    for (let tier: Tier | null = 'CHEAP'; tier !== null; tier = escalate(tier)) chain.push(tier);
    expect(chain).toEqual([...TIERS]);
  });
});
