import { seededRandom } from '@coursegraph/service-kit';
import { describe, expect, it } from 'vitest';
import {
  estimateDifficulty,
  scoreDifficulty,
  textFeatures,
  type DifficultyFeatures,
} from '../../src/domain/routing/difficulty.js';

const score = (text: string, context = {}) => estimateDifficulty(text, context).score;

describe('estimateDifficulty', () => {
  it('ranks an easy recall question below a reasoning one over technical vocabulary', () => {
    const easy = score('What is a set?');
    const hard = score(
      'Why does quicksort degrade to quadratic time on sorted input, and how does that compare with mergesort?',
    );
    expect(easy).toBeLessThan(0.15);
    expect(hard).toBeGreaterThan(easy + 0.3);
  });

  it('stays within 0..1 at both extremes', () => {
    expect(score('')).toBe(0);
    const everything = `${'Why and how does \\frac{x^2}{y_1} = camelCaseIdentifier(42) compare? '.repeat(200)}`;
    const top = score(everything, { recentFailures: 99, hintsGiven: 99 });
    expect(top).toBeLessThanOrEqual(1);
    expect(top).toBeGreaterThan(0.95);
  });

  it('rises with each why/how/compare cue, up to two', () => {
    const plain = score('Tell me about the mitochondria in cells.');
    const why = score('Tell me why about the mitochondria in cells.');
    const whyHow = score('Tell me why and how about the mitochondria in cells.');
    expect(why).toBeGreaterThan(plain);
    expect(whyHow).toBeGreaterThan(why);
  });

  it('rises with the learner’s recent failures and hints, never falling', () => {
    const text = 'Is the answer the second option?';
    for (const key of ['recentFailures', 'hintsGiven'] as const) {
      const scores = [0, 1, 2, 3, 4, 5, 6].map((n) => score(text, { [key]: n }));
      for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThanOrEqual(scores[i - 1]!);
      expect(scores[3]).toBeGreaterThan(scores[0]!);
    }
  });

  it('rises with length, never falling', () => {
    const sentence = 'The cell membrane controls what enters the cell. ';
    const scores = [1, 2, 4, 8, 16, 32, 64].map((n) => score(sentence.repeat(n)));
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThanOrEqual(scores[i - 1]!);
    expect(scores[6]).toBeGreaterThan(scores[0]!);
  });

  it('rises with numbers, code and formulas, which leave the vocabulary share alone', () => {
    const words = 'Solve for the unknown value here';
    const withFormula = `${words}: 12 + 7 = 19, and 19 * 2 = 38`;
    expect(textFeatures(withFormula).uncommonWordShare).toBe(textFeatures(words).uncommonWordShare);
    expect(textFeatures(withFormula).symbolsPerWord).toBeGreaterThan(textFeatures(words).symbolsPerWord);
    expect(score(withFormula)).toBeGreaterThan(score(words));
    expect(score('Call the function with the list')).toBeLessThan(score('Call `sortBy(list, key_fn)` with {a: 1}'));
  });

  it('rises with long or technical words in place of short ones', () => {
    expect(score('The cat sat on the mat by the door.')).toBeLessThan(
      score('The photosynthetic organelle sat on the thylakoid membrane by the chloroplast.'),
    );
  });

  it('refuses a negative or fractional count in the context', () => {
    expect(() => estimateDifficulty('hi', { recentFailures: -1 })).toThrow(
      /recentFailures must be a non-negative integer/,
    );
    expect(() => estimateDifficulty('hi', { hintsGiven: 1.5 })).toThrow(/hintsGiven must be a non-negative integer/);
  });
});

describe('scoreDifficulty', () => {
  it('never decreases when one feature grows and the others stay put (500 random points)', () => {
    const random = seededRandom(20_260_101);
    const keys: (keyof DifficultyFeatures)[] = [
      'tokens',
      'uncommonWordShare',
      'symbolsPerWord',
      'reasoningCues',
      'recentFailures',
      'hintsGiven',
    ];
    for (let i = 0; i < 500; i++) {
      const features: DifficultyFeatures = {
        tokens: Math.floor(random() * 3_000),
        uncommonWordShare: random(),
        symbolsPerWord: random() * 2,
        reasoningCues: Math.floor(random() * 4),
        recentFailures: Math.floor(random() * 5),
        hintsGiven: Math.floor(random() * 6),
      };
      const base = scoreDifficulty(features);
      expect(base).toBeGreaterThanOrEqual(0);
      expect(base).toBeLessThanOrEqual(1);
      for (const key of keys) {
        const more = { ...features, [key]: features[key] + (key === 'uncommonWordShare' ? 0.1 : 1) };
        expect(scoreDifficulty(more)).toBeGreaterThanOrEqual(base);
      }
    }
  });
});
