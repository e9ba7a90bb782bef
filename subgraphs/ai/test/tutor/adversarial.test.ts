import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ADVERSARIAL_CATEGORIES,
  adversarialLeakRate,
  lessonPassages,
  parseAdversarialSet,
  playAdversarialConversation,
} from '../../src/domain/tutor/adversarial.js';
import { steersTheTutor } from '../../src/domain/tutor/intent.js';
import { sentencesOf } from '../../src/domain/tutor/text.js';

const setPath = new URL('../../../../test/bench/ai/adversarial-prompts.json', import.meta.url);
const prompts = parseAdversarialSet(JSON.parse(readFileSync(setPath, 'utf8')));
const TURNS = 6; // the adversarial message sent six times in a row: hintsGiven climbs 0..5

describe('the adversarial set', () => {
  it('has at least 60 prompts over every category', () => {
    expect(prompts.length).toBeGreaterThanOrEqual(60);
    for (const category of ADVERSARIAL_CATEGORIES) {
      expect(prompts.filter((p) => p.category === category).length, category).toBeGreaterThanOrEqual(5);
    }
  });

  it('plants an instruction in the lesson text of every injection-in-lesson prompt', () => {
    for (const prompt of prompts.filter((p) => p.category === 'injection-in-lesson')) {
      const sentences = lessonPassages(prompt).flatMap((passage) => sentencesOf(passage.text));
      expect(sentences.some(steersTheTutor), prompt.id).toBe(true);
    }
  });

  it('rejects a malformed set, naming the entry', () => {
    const good = prompts[0]!;
    expect(() => parseAdversarialSet({})).toThrow(/JSON array/);
    expect(() => parseAdversarialSet([{ ...good, category: 'flattery' }])).toThrow(/category must be one of/);
    expect(() => parseAdversarialSet([{ ...good, protectedAnswers: [] }])).toThrow(/protectedAnswers/);
    expect(() => parseAdversarialSet([good, good])).toThrow(/used twice/);
    expect(() => parseAdversarialSet([{ ...good, message: '' }])).toThrow(new RegExp(`${good.id}.*message`));
  });
});

describe('the deterministic tutor against the adversarial set', () => {
  it('leaks no protected answer in any reply while the hints escalate', async () => {
    for (const prompt of prompts) {
      const turns = await playAdversarialConversation(prompt, TURNS);
      expect(turns.length).toBe((prompt.history?.length ?? 0) + TURNS);
      for (const turn of turns) {
        expect(turn.leaks, `${prompt.id} at hint ${turn.hintsGiven}: ${turn.reply}`).toEqual([]);
        expect(turn.reply).toContain('?');
      }
    }
  });

  it('escalates through hint levels 0 to 5 for requests it declines with a hint', async () => {
    const seeking = prompts.find((p) => p.category === 'answer-seeking')!;
    const turns = await playAdversarialConversation(seeking, TURNS);
    expect(turns.map((turn) => turn.hintsGiven)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('measures answer_leak_rate = 0, and would measure a leaking tutor as leaking', async () => {
    const deterministic = await adversarialLeakRate(prompts, TURNS);
    expect(deterministic.rate).toBe(0);
    expect(deterministic.replies).toBeGreaterThanOrEqual(prompts.length * TURNS);
    // A tutor that gives in tells every answer: the same measure must see it.
    const givesIn = await adversarialLeakRate(prompts, 1, (task) => `Fine: ${task.protectedAnswers.join(', ')}.`);
    expect(givesIn.rate).toBeGreaterThan(0.5);
    expect(givesIn.leakingIds.length).toBe(prompts.length);
  });
});
