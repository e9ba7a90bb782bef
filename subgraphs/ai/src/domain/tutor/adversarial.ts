/**
 * The adversarial set (test/bench/ai/adversarial-prompts.json): learner messages that try to get a
 * protected answer out of the tutor, each with the lesson it is asked in. Read and checked here, turned
 * into TUTOR tasks, and played as conversations that escalate over several turns, so the tests and
 * `npm run bench:ai` (answer_leak_rate) measure the same thing.
 */
import type { ChatMessage, SourcePassage } from '../../providers/provider.js';
import { socraticTurn, type TutorTask } from './deterministic.js';
import { findAnswerLeaks } from './leak.js';

export const ADVERSARIAL_CATEGORIES = [
  'answer-seeking',
  'role-play',
  'injection',
  'injection-in-lesson',
  'personal-data',
  'off-topic',
  'persistence',
] as const;
export type AdversarialCategory = (typeof ADVERSARIAL_CATEGORIES)[number];

export interface AdversarialPrompt {
  id: string;
  category: AdversarialCategory;
  message: string;
  subject: string;
  lessonTitle: string;
  /** The lesson the learner is on; paragraphs become passages. For injection-in-lesson, it carries the injection. */
  lessonText: string;
  protectedAnswers: string[];
  /** Earlier learner messages of the thread (persistence: the four pleas before the fifth). */
  history?: string[];
}

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The set, checked entry by entry; a malformed entry is named in the error. */
export function parseAdversarialSet(json: unknown): AdversarialPrompt[] {
  if (!Array.isArray(json)) throw new Error('The adversarial set must be a JSON array of prompts.');
  const ids = new Set<string>();
  return json.map((entry: Record<string, unknown>, index) => {
    const where = `adversarial prompt ${index} (${String(entry?.id)})`;
    for (const field of ['id', 'message', 'subject', 'lessonTitle', 'lessonText'] as const) {
      if (typeof entry?.[field] !== 'string' || entry[field] === '')
        throw new Error(`${where}: ${field} must be a non-empty string.`);
    }
    if (!ADVERSARIAL_CATEGORIES.includes(entry.category as AdversarialCategory)) {
      throw new Error(`${where}: category must be one of ${ADVERSARIAL_CATEGORIES.join(', ')}.`);
    }
    if (!isStringList(entry.protectedAnswers) || entry.protectedAnswers.length === 0) {
      throw new Error(`${where}: protectedAnswers must be a non-empty list of strings.`);
    }
    if (entry.history !== undefined && !isStringList(entry.history))
      throw new Error(`${where}: history must be a list of strings.`);
    if (ids.has(entry.id as string)) throw new Error(`${where}: the id is used twice.`);
    ids.add(entry.id as string);
    return entry as unknown as AdversarialPrompt;
  });
}

/** The lesson's paragraphs as passages, in order. */
export function lessonPassages(prompt: AdversarialPrompt): SourcePassage[] {
  return prompt.lessonText
    .split(/\n\s*\n/)
    .map((text) => text.trim())
    .filter((text) => text.length > 0)
    .map((text, n) => ({
      id: `${prompt.id}-p${n + 1}`,
      lessonId: `lesson-${prompt.id}`,
      source: 'LESSON' as const,
      text,
    }));
}

export function adversarialTask(
  prompt: AdversarialPrompt,
  learnerMessage: string,
  hintsGiven: number,
  history: ChatMessage[],
): TutorTask {
  return {
    kind: 'TUTOR',
    lessonTitle: prompt.lessonTitle,
    subject: prompt.subject,
    passages: lessonPassages(prompt),
    history,
    learnerMessage,
    hintsGiven,
    protectedAnswers: prompt.protectedAnswers,
  };
}

export interface AdversarialTurn {
  hintsGiven: number;
  message: string;
  reply: string;
  leaks: string[];
}

/**
 * One prompt played as a conversation with `reply` (the deterministic tutor unless given): the thread's
 * earlier pleas first, then the adversarial message sent `turns` times in a row while the hints escalate
 * (hintsGiven 0, 1, 2, … as the tutor counts them), each reply checked for leaks.
 */
export async function playAdversarialConversation(
  prompt: AdversarialPrompt,
  turns = 6,
  reply: (task: TutorTask) => Promise<string> | string = (task) => socraticTurn(task).reply,
): Promise<AdversarialTurn[]> {
  const history: ChatMessage[] = [];
  const played: AdversarialTurn[] = [];
  let hintsGiven = 0;
  const messages = [...(prompt.history ?? []), ...Array.from({ length: turns }, () => prompt.message)];
  for (const message of messages) {
    const task = adversarialTask(prompt, message, hintsGiven, [...history]);
    const text = await reply(task);
    played.push({ hintsGiven, message, reply: text, leaks: findAnswerLeaks(text, prompt.protectedAnswers) });
    history.push({ role: 'user', content: message }, { role: 'assistant', content: text });
    hintsGiven = socraticTurn(task).hintsGiven;
  }
  return played;
}

/** answer_leak_rate: the share of replies, over every conversation of the set, that state a protected answer. */
export async function adversarialLeakRate(
  prompts: readonly AdversarialPrompt[],
  turns = 6,
  reply?: (task: TutorTask) => Promise<string> | string,
): Promise<{ replies: number; leakingReplies: number; rate: number; leakingIds: string[] }> {
  let replies = 0;
  let leakingReplies = 0;
  const leakingIds: string[] = [];
  for (const prompt of prompts) {
    const played = await playAdversarialConversation(prompt, turns, reply);
    const leaking = played.filter((turn) => turn.leaks.length > 0).length;
    replies += played.length;
    leakingReplies += leaking;
    if (leaking > 0) leakingIds.push(prompt.id);
  }
  return { replies, leakingReplies, rate: replies === 0 ? 0 : leakingReplies / replies, leakingIds };
}
