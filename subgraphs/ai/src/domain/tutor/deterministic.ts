/**
 * The deterministic Socratic tutor: a reply to a learner's message built by rules from the lesson's
 * passages, never from a model. It asks rather than tells, gives graduated hints (`hintsGiven`), and
 * never states an answer the learner's open quiz attempt protects. Same task in, same reply out.
 *
 * How a reply is made:
 * 1. The message is classified (intent.ts).
 * 2. The focus: the passage sharing most words with the message (or, when the message has none — "just
 *    tell me", "I'm lost" — with the learner's latest message that has), its teaching sentences
 *    (instructions planted in lesson text are skipped) and its key term: a term the passage defines
 *    ("A closure is a function that…") that the learner asked about, else a word they share, else the
 *    passage's first defined term, else its most frequent word.
 * 3. The words of protected answers are removed from the message before it steers anything, and the
 *    key term is never named when it is (part of) a protected answer: the choice of passage and wording
 *    then cannot confirm or deny a guess.
 * 4. The reply for the intent; every quote has protected answers blanked, and the whole reply is
 *    checked by the leak validator before it leaves (a generic question replaces it if that ever fails).
 */
import type { ChatMessage, SourcePassage, TaskInput } from '../../providers/provider.js';
import { classifyLearnerMessage, teachingSentences, type LearnerIntent } from './intent.js';
import { blankAnswers, findAnswerSpans, guardReply } from './leak.js';
import { STOP_WORDS, contentStems, tokenize } from './text.js';

export type TutorTask = Extract<TaskInput, { kind: 'TUTOR' }>;

export interface TutorTurn {
  reply: string;
  intent: LearnerIntent;
  /** What the classification matched. */
  evidence: string[];
  /** `hintsGiven` after this reply (nextHintsGiven). */
  hintsGiven: number;
  /** The passage the reply is grounded in, when there was one. */
  passageId?: string;
}

const BLANK = '____';
const LONGEST_QUOTE = 220;

/** A term the lesson defines: "A closure is a function that remembers…" → closure, function. */
interface Definition {
  term: string;
  /** What kind of thing it is, in the lesson's words ("function", "capital of Germany"). */
  genus?: string;
  sentence: string;
}

interface Focus {
  passage?: SourcePassage;
  sentences: string[];
  /** The sentence the hints quote: the key term's definition, or the first sentence holding it. */
  sentence?: string;
  keyTerm?: string;
  genus?: string;
  /** The key term is, or is part of, a protected answer: it is never named. */
  keyTermProtected: boolean;
}

// "X is/are/means/refers to (a|the) Y…": X is the term (one to four words), Y's first words its genus.
const DEFINES =
  /^(?:(?:an?|the)\s+)?([\p{L}\p{N}][\p{L}\p{N}'’-]*(?:\s+[\p{L}\p{N}][\p{L}\p{N}'’-]*){0,3}?)\s+(?:is|are|was|were|means|refers to)\s+(?:(?:an?|the|one of the)\s+)?(.+)$/iu;
// "…Y… is called (a) X." : X is the term, Y's head word its genus.
const IS_CALLED =
  /^(?:(?:an?|the)\s+)?([\p{L}\p{N}][\p{L}\p{N}'’-]*)\b.*?\s+(?:is|are)\s+(?:called|known as|named|termed)\s+(?:(?:an?|the)\s+)?([\p{L}\p{N}][\p{L}\p{N}'’-]*(?:\s+[\p{L}\p{N}][\p{L}\p{N}'’-]*){0,3}?)\s*(?:[.,;:!?]|$)/iu;
// Where a genus phrase ends: a relative clause, a preposition of means, or punctuation.
const GENUS_END = /\s+(?:that|which|who|whom|where|when|by|because|used|for|to|in|with)\b|[,;:.!?()]/iu;

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

function isPlainTerm(term: string): boolean {
  return words(term).every((w) => !STOP_WORDS.has(w.toLowerCase()));
}

function definitionIn(sentence: string): Definition | undefined {
  const called = IS_CALLED.exec(sentence);
  if (called && isPlainTerm(called[2]!)) {
    const genus = STOP_WORDS.has(called[1]!.toLowerCase()) ? undefined : called[1]!.toLowerCase();
    return { term: called[2]!, genus, sentence };
  }
  const defines = DEFINES.exec(sentence);
  if (!defines || !isPlainTerm(defines[1]!)) return undefined;
  const genusPhrase = defines[2]!.split(GENUS_END)[0]!.trim();
  const genus = words(genusPhrase).slice(0, 5).join(' ');
  return { term: defines[1]!, genus: genus === '' ? undefined : genus, sentence };
}

function overlaps(text: string, stems: ReadonlySet<string>): number {
  return new Set(contentStems(text).filter((stem) => stems.has(stem))).size;
}

/** True when `a` names (part of) one of `answers`, or one of them is inside it. */
function touchesAnswers(text: string, answers: readonly string[]): boolean {
  return (
    findAnswerSpans(text, answers).length > 0 || answers.some((answer) => findAnswerSpans(answer, [text]).length > 0)
  );
}

/** The words that steer the reply: the message's, or the latest earlier learner message's that match a passage. */
function steeringStems(task: TutorTask, passages: readonly SourcePassage[], useMessage: boolean): Set<string> {
  const candidates = [
    ...(useMessage ? [task.learnerMessage] : []),
    ...task.history
      .filter((m: ChatMessage) => m.role === 'user')
      .map((m) => m.content)
      .reverse(),
  ];
  for (const candidate of candidates) {
    // Protected answers never steer: a guess cannot move the tutor to the passage that holds it.
    const stems = new Set(contentStems(blankAnswers(candidate, task.protectedAnswers, ' ')));
    if (passages.some((p) => overlaps(p.text, stems) > 0)) return stems;
  }
  return new Set();
}

function findFocus(task: TutorTask, useMessage: boolean): Focus {
  const usable = task.passages
    .map((passage) => ({ passage, sentences: teachingSentences(passage.text) }))
    .filter((p) => p.sentences.length > 0);
  if (usable.length === 0) return { sentences: [], keyTermProtected: false };
  const query = steeringStems(
    task,
    usable.map((p) => p.passage),
    useMessage,
  );
  let best = usable[0]!;
  let bestScore = 0;
  for (const candidate of usable) {
    const score = overlaps(candidate.sentences.join(' '), query);
    if (score > bestScore) [best, bestScore] = [candidate, score];
  }

  const { passage, sentences } = best;
  const definitions = sentences.map(definitionIn).filter((d): d is Definition => d !== undefined);
  const asked = (text: string) => overlaps(text, query) > 0;
  let keyTerm: string | undefined;
  let genus: string | undefined;
  let sentence: string | undefined;
  const askedDefinition = definitions.find((d) => asked(d.term));
  const sharedWord = tokenize(sentences.join(' '))
    .filter((t) => t.folded.length >= 4 && !STOP_WORDS.has(t.folded) && query.has(t.stem))
    .sort((a, b) => b.raw.length - a.raw.length)[0]?.raw;
  if (askedDefinition) ({ term: keyTerm, genus, sentence } = askedDefinition);
  else if (sharedWord) keyTerm = sharedWord;
  else if (definitions[0]) ({ term: keyTerm, genus, sentence } = definitions[0]);
  else keyTerm = mostFrequentWord(sentences);

  if (keyTerm && !sentence) {
    sentence = sentences.find((s) => findAnswerSpans(s, [keyTerm!]).length > 0) ?? sentences[0];
  }
  const keyTermProtected = keyTerm !== undefined && touchesAnswers(keyTerm, task.protectedAnswers);
  return { passage, sentences, sentence: sentence ?? sentences[0], keyTerm, genus, keyTermProtected };
}

function mostFrequentWord(sentences: readonly string[]): string | undefined {
  const counts = new Map<string, { raw: string; count: number; first: number }>();
  tokenize(sentences.join(' ')).forEach((t, index) => {
    if (t.folded.length < 4 || STOP_WORDS.has(t.folded) || /^\d/.test(t.folded)) return;
    const entry = counts.get(t.stem) ?? { raw: t.raw, count: 0, first: index };
    entry.count += 1;
    counts.set(t.stem, entry);
  });
  const ranked = [...counts.values()].sort(
    (a, b) => b.count - a.count || b.raw.length - a.raw.length || a.first - b.first,
  );
  return ranked[0]?.raw;
}

/** A passage sentence for quoting: protected answers (and `alsoBlank`) blanked, long ones cut at a word. */
function quote(sentence: string, task: TutorTask, alsoBlank: readonly string[] = []): string {
  let text = blankAnswers(sentence, [...task.protectedAnswers, ...alsoBlank], BLANK);
  if (text.length > LONGEST_QUOTE) text = text.slice(0, text.lastIndexOf(' ', LONGEST_QUOTE)) + ' …';
  return `“${text}”`;
}

const withArticle = (phrase: string) => (/^[aeiou]/i.test(phrase) ? `an ${phrase}` : `a ${phrase}`);

/** What the reply may call the thing being learnt: the key term, or when that is protected, a description. */
function anchorOf(focus: Focus, task: TutorTask): string {
  if (focus.keyTerm && !focus.keyTermProtected) return `“${focus.keyTerm}”`;
  if (focus.genus && !touchesAnswers(focus.genus, task.protectedAnswers))
    return `the ${focus.genus} this part of the lesson describes`;
  return 'the idea this part of the lesson describes';
}

/** The hint for level `level` (= hints given so far): graduated from an open question to reasoning steps. */
function hint(focus: Focus, task: TutorTask, level: number): string {
  const anchor = anchorOf(focus, task);
  if (!focus.sentence) {
    const lesson = `“${task.lessonTitle}”`;
    if (level === 0)
      return `What do you already know about ${task.subject}, and which part of ${lesson} does your question touch?`;
    return `Look back at ${lesson}: which sentence speaks to your question, and what does it tell you?`;
  }
  const keyBlank = focus.keyTerm ? [focus.keyTerm] : [];

  if (level === 0) {
    return `What do you already know about ${anchor}, and what does it make you think of first?`;
  }
  if (level === 1) {
    return `Look at what the lesson says: ${quote(focus.sentence, task, keyBlank)} Which word belongs in the blank, and what does the sentence tell you about it?`;
  }
  if (level === 2) {
    const kind = focus.genus && !touchesAnswers(focus.genus, task.protectedAnswers) ? focus.genus : undefined;
    const firstLetter = focus.keyTerm?.charAt(0).toLowerCase();
    const letterIsSafe =
      firstLetter !== undefined && !focus.keyTermProtected && !touchesAnswers(firstLetter, task.protectedAnswers);
    const cues = [
      ...(letterIsSafe ? [`it starts with “${firstLetter}”`] : []),
      ...(kind ? [`the lesson describes it as ${withArticle(kind)}`] : []),
    ];
    if (cues.length === 0) {
      const otherWords = tokenize(quote(focus.sentence, task, keyBlank))
        .filter((t) => t.folded.length >= 4 && !STOP_WORDS.has(t.folded))
        .slice(0, 2)
        .map((t) => `“${t.raw}”`);
      const hintWords = otherWords.length > 0 ? ` such as ${otherWords.join(' and ')}` : '';
      return `A narrower clue: the sentence's other words${hintWords} describe it. What kind of thing do they point to?`;
    }
    return `A narrower clue: ${cues.join(', and ')}. With that, which word completes ${quote(focus.sentence, task, keyBlank)}?`;
  }
  // Level 3 and up: reasoning walked through as questions, one sentence of the passage at a time.
  const step = level - 3;
  if (step === 0 && focus.genus && !touchesAnswers(focus.genus, task.protectedAnswers)) {
    return (
      `Let's reason it through. First: what kind of thing is it? The lesson calls it ${withArticle(focus.genus)}. ` +
      `Then: what sets it apart from other things of that kind? Reread ${quote(focus.sentence, task)} ` +
      `Finally: putting those together, how would you describe ${anchor} in your own words?`
    );
  }
  const ordered = [focus.sentence, ...focus.sentences.filter((s) => s !== focus.sentence)];
  const sentence = ordered[step % ordered.length]!;
  return (
    `Let's take it one step at a time. The lesson says: ${quote(sentence, task)} ` +
    `What does this sentence tell you? How does it connect to what you worked out so far, and what follows from it?`
  );
}

function attemptReply(focus: Focus, task: TutorTask): string {
  const ask = 'What is your reasoning? Walk me through how you got there.';
  if (!focus.sentence) return `${ask} Which part of “${task.lessonTitle}” supports it?`;
  if (task.protectedAnswers.length > 0) {
    // The same reply whatever the attempt says: right and wrong guesses must look alike while a graded
    // attempt is open.
    return (
      `${ask} I can't say whether it's right while your quiz attempt is open, but you can check it yourself ` +
      `against the lesson: ${quote(focus.sentence, task)} Does your answer fit what this says, and why?`
    );
  }
  const attemptStems = new Set(contentStems(task.learnerMessage));
  const shared = tokenize(focus.sentence)
    .filter((t) => t.folded.length >= 3 && !STOP_WORDS.has(t.folded) && attemptStems.has(t.stem))
    .map((t) => `“${t.raw}”`)
    .filter((w, i, all) => all.indexOf(w) === i)
    .slice(0, 3);
  if (shared.length > 0) {
    return `${ask} Your answer uses words the lesson uses too (${shared.join(', ')}). Read it again: ${quote(focus.sentence, task)} Does it say the same thing you did?`;
  }
  return `${ask} The lesson doesn't put it in those words. Compare your answer with this: ${quote(focus.sentence, task)} Does it support your answer, or point somewhere else?`;
}

const DECLINE_ANSWER = [
  "I won't give you the answer — working it out yourself is what makes it stick. Here's a hint instead.",
  "I'm not going to hand you the answer, but you are closer than you think. Let's take the next step.",
  'Giving you the answer would rob you of the part that helps you learn it. Try this instead.',
];
const DECLINE_PROTECTED =
  "While your quiz attempt is open I can't give or confirm answers, but I can help you think it through.";

/** How many hints the learner has had after a reply to `intent`: each reply that gives a hint counts one. */
export function nextHintsGiven(intent: LearnerIntent, hintsGiven: number): number {
  const givesHint: readonly LearnerIntent[] = [
    'QUESTION',
    'CONFUSION',
    'ANSWER_SEEKING',
    'ROLE_PLAY',
    'PROMPT_INJECTION',
  ];
  const current = Math.max(0, Math.floor(hintsGiven));
  return givesHint.includes(intent) ? current + 1 : current;
}

function replyFor(intent: LearnerIntent, task: TutorTask, level: number): { text: string; focus: Focus } {
  // Off-topic and personal-data messages say nothing about the lesson, and an attempt under protection
  // must not steer (its reply is the same whatever the guess): these focus on the earlier conversation.
  const steeredByMessage =
    intent !== 'OFF_TOPIC' && intent !== 'PERSONAL_DATA' && !(intent === 'ATTEMPT' && task.protectedAnswers.length > 0);
  const focus = findFocus(task, steeredByMessage);
  const guided = hint(focus, task, level);
  switch (intent) {
    case 'QUESTION':
      return { text: guided, focus };
    case 'CONFUSION':
      return { text: `That's all right — let's slow down and take it one step at a time. ${guided}`, focus };
    case 'ATTEMPT':
      return { text: attemptReply(focus, task), focus };
    case 'ANSWER_SEEKING': {
      const decline =
        task.protectedAnswers.length > 0 ? DECLINE_PROTECTED : DECLINE_ANSWER[level % DECLINE_ANSWER.length]!;
      return { text: `${decline} ${guided}`, focus };
    }
    case 'ROLE_PLAY':
      return { text: `I'll stay your tutor for ${task.subject} rather than play a part. ${guided}`, focus };
    case 'PROMPT_INJECTION':
      return {
        text: `I can't follow instructions that change how I tutor, and my own instructions stay private. ${guided}`,
        focus,
      };
    case 'PERSONAL_DATA':
      return {
        text:
          "I can't help with personal information: I don't look up or share anyone's details, and it's best to keep " +
          `your own private here too. Let's get back to “${task.lessonTitle}”. ${hint(focus, task, 0)}`,
        focus,
      };
    case 'OFF_TOPIC':
      return {
        text: `That's outside what we're studying here. Let's get back to ${task.subject}. ${hint(focus, task, 0)}`,
        focus,
      };
  }
}

export function socraticTurn(task: TutorTask): TutorTurn {
  const classified = classifyLearnerMessage(task.learnerMessage, {
    subject: task.subject,
    lessonTitle: task.lessonTitle,
    passages: task.passages,
  });
  const level = Math.max(0, Math.floor(task.hintsGiven));
  const { text, focus } = replyFor(classified.intent, task, level);
  // The last guard: blank anything protected that slipped into the subject, title or a quote; if
  // something were still found, a question with no lesson words at all goes out instead.
  let reply = blankAnswers(text, task.protectedAnswers, BLANK);
  if (!guardReply(reply, task.protectedAnswers).ok) {
    reply = 'Which sentence of the lesson speaks to your question, and what does it tell you?';
  }
  return {
    reply,
    intent: classified.intent,
    evidence: classified.evidence,
    hintsGiven: nextHintsGiven(classified.intent, task.hintsGiven),
    ...(focus.passage ? { passageId: focus.passage.id } : {}),
  };
}

/** The deterministic tutor's reply to a TUTOR task (the text only; socraticTurn tells more). */
export function socraticReply(task: TutorTask): string {
  return socraticTurn(task).reply;
}
