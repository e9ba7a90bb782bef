// Learner messages to the tutor, generated from a lesson's own text so they read like traffic on it:
// the five kinds of learner turn of the documented usage mix (subgraphs/ai/src/domain/routing/
// usage-mix.ts), in its shares. Seeded, so every run sends the same messages.
import { STOP_WORDS } from '../../../subgraphs/ai/dist/domain/retrieval/tokenize.js';

/** The mix's learner turns: share of turns, and how to write one from the lesson. */
export const TURN_KINDS = [
  { kind: 'answer', share: 0.6 },
  { kind: 'hint-request', share: 0.2 },
  { kind: 'recall-question', share: 0.09 },
  { kind: 'reasoning-question', share: 0.08 },
  { kind: 'pasted-work', share: 0.03 },
];

const HINT_REQUESTS = [
  'no idea',
  'can you give me a hint?',
  'ok',
  "I'm stuck",
  'not sure, another hint please',
  'hmm, I still do not get it',
  'ok that makes sense',
  'give me a smaller hint',
  'what should I look at first?',
  'got it, thanks',
];
const ANSWER_FORMS = [
  (a) => `is it ${a}?`,
  (a) => a,
  (a) => `I think it is ${a}`,
  (a) => `maybe ${a}, because the lesson mentions it`,
  (a, b) => `${a}? or is it ${b}`,
  (a, b) => `I would say ${a} and ${b}`,
];
const RECALL_FORMS = [
  (a) => `what is ${a}?`,
  (a) => `what does ${a} mean?`,
  (a) => `remind me what ${a} is`,
  (a) => `where does the lesson define ${a}?`,
];
const REASONING_FORMS = [
  (a, b) => `why does ${a} matter here, and how is it different from ${b}?`,
  (a, b) => `how does ${a} compare to ${b} in practice? I read the part about it but I do not see the trade-off`,
  (a, b, s) => `I read "${s}" but why is that so? what would happen if ${a} were missing?`,
  (a, b) => `can you explain the relationship between ${a} and ${b}? the lesson seems to use them together`,
];

const pick = (random, list) => list[Math.floor(random() * list.length)];

function pickWeighted(random, shares) {
  let r = random();
  for (let i = 0; i < shares.length; i++) {
    r -= shares[i];
    if (r < 0) return i;
  }
  return shares.length - 1;
}

const sentencesOf = (text) => text.match(/[^.!?]+[.!?]/g)?.map((s) => s.trim()) ?? [text];

/** Content words of a sentence: the terms a learner would answer with or ask about. */
function termsOf(sentence) {
  const words = sentence.match(/[A-Za-z][A-Za-z0-9'-]*/g) ?? [];
  return words.filter((w) => w.length >= 5 && !STOP_WORDS.has(w.toLowerCase()));
}

/** A phrase of one to three consecutive content words from the sentence. */
function phraseOf(random, sentence) {
  const terms = termsOf(sentence);
  if (terms.length === 0) return 'that';
  const start = Math.floor(random() * terms.length);
  return terms.slice(start, start + 1 + Math.floor(random() * 3)).join(' ');
}

/**
 * A message generator over `lessonText`: `next()` returns `{ kind, message }`, its kind drawn with the
 * mix's shares. Pasted work is a stretch of the lesson's own text (code and all) with a question.
 */
export function learnerMessages(lessonText, random) {
  const paragraphs = lessonText.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  const sentences = paragraphs.flatMap(sentencesOf);
  const shares = TURN_KINDS.map((k) => k.share);
  return {
    next() {
      const { kind } = TURN_KINDS[pickWeighted(random, shares)];
      const s = pick(random, sentences);
      const a = phraseOf(random, s);
      const b = phraseOf(random, pick(random, sentences));
      switch (kind) {
        case 'answer':
          return { kind, message: pick(random, ANSWER_FORMS)(a, b) };
        case 'hint-request':
          return { kind, message: pick(random, HINT_REQUESTS) };
        case 'recall-question':
          return { kind, message: pick(random, RECALL_FORMS)(a) };
        case 'reasoning-question':
          return { kind, message: pick(random, REASONING_FORMS)(a, b, s.slice(0, 160)) };
        default: {
          const from = Math.floor(random() * paragraphs.length);
          const work = paragraphs.slice(from, from + 1 + Math.floor(random() * 2)).join('\n\n');
          return { kind, message: `Here is what I wrote, is it right?\n\n${work.slice(0, 1_600)}` };
        }
      }
    },
  };
}
