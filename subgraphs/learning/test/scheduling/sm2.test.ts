import { describe, expect, it } from 'vitest';
import { SM2_NEW, sm2RecallProbability, sm2Review, type Sm2State } from '../../src/domain/scheduling/sm2.js';
import type { Rating } from '../../src/domain/scheduling/scheduler.js';

function run(ratings: Rating[]): Sm2State[] {
  const out: Sm2State[] = [];
  let state: Sm2State = SM2_NEW;
  for (const rating of ratings) {
    state = sm2Review(state, rating);
    out.push(state);
  }
  return out;
}

describe('SM-2', () => {
  it('gives intervals 1, 6, 15 at EF 2.5 (Good keeps the ease)', () => {
    const states = run(['GOOD', 'GOOD', 'GOOD']);
    expect(states.map((s) => s.intervalDays)).toEqual([1, 6, 15]);
    expect(states.every((s) => s.easeFactor === 2.5)).toBe(true);
  });

  it('changes the ease factor by the SM-2 formula and restarts on a failure', () => {
    const [easy, hard, again] = run(['EASY', 'HARD', 'AGAIN']);
    expect(easy!.easeFactor).toBeCloseTo(2.6, 12); // q=5: +0.1
    expect(hard!.easeFactor).toBeCloseTo(2.6 - 0.14, 12); // q=3: 0.1 − 2(0.08 + 0.04)
    expect(again).toEqual({ repetitions: 0, easeFactor: expect.closeTo(2.46 - 0.54, 12), intervalDays: 1 });
  });

  it('never lets the ease factor fall below 1.3', () => {
    const states = run(['AGAIN', 'AGAIN', 'AGAIN', 'AGAIN']);
    expect(states.at(-1)!.easeFactor).toBe(1.3);
  });

  it('predicts recall 0.9^(t/I)', () => {
    expect(sm2RecallProbability(6, 6)).toBeCloseTo(0.9, 12);
    expect(sm2RecallProbability(12, 6)).toBeCloseTo(0.81, 12);
    expect(sm2RecallProbability(0, 6)).toBe(1);
    expect(() => sm2RecallProbability(3, 0)).toThrow(/must be > 0/);
  });

  it('refuses an unknown rating', () => {
    expect(() => sm2Review(SM2_NEW, 'MEH' as Rating)).toThrow(/Unknown rating "MEH"/);
  });
});
