/**
 * The one interface every model provider implements: the real Anthropic adapter (anthropic.ts) and the
 * embedded deterministic provider (deterministic.ts), which is the default.
 *
 * A request carries both the prompt an LLM reads (`system`, `messages`) and the structured task it
 * came from (`task`). A language model reads the prompt; the deterministic provider reads the task
 * and answers in the very output format the prompt asks for. So parsing, validation, escalation and
 * cost accounting are one pipeline whichever provider answered.
 */

/** Model tiers, cheapest first (docs/adr/0015-ai-context.md: routing). */
export const TIERS = ['CHEAP', 'MID', 'TOP'] as const;
export type Tier = (typeof TIERS)[number];

/** What a call is for; the routing policy starts from it. */
export type TaskType =
  'FLASHCARD_EXTRACTION' | 'QUIZ_GENERATION' | 'TUTOR' | 'GRADE_FREE_TEXT' | 'EXPLAIN_MISCONCEPTION';

/** A passage of lesson text or captions, as retrieval returns it and as generated items cite it. */
export interface SourcePassage {
  id: string;
  lessonId: string;
  /** LESSON: the lesson's body; CAPTION: its video's captions (with times). */
  source: 'LESSON' | 'CAPTION';
  text: string;
  startsAtSeconds?: number;
}

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** The structured task behind a request (what the deterministic provider works from). */
export type TaskInput =
  | {
      kind: 'FLASHCARD_EXTRACTION';
      lessonTitle: string;
      passages: SourcePassage[];
      /** Most cards wanted. */
      max: number;
    }
  | {
      kind: 'QUIZ_GENERATION';
      lessonTitle: string;
      passages: SourcePassage[];
      /** Most items wanted. */
      max: number;
      /** Definitions elsewhere in the course, usable as distractors. */
      distractorPool?: string[];
    }
  | {
      kind: 'TUTOR';
      lessonTitle: string;
      /** The course's subject, for staying on topic. */
      subject: string;
      passages: SourcePassage[];
      history: ChatMessage[];
      learnerMessage: string;
      /** How many hints the learner has had on this thread so far (graduated hints). */
      hintsGiven: number;
      /** Answers of graded-quiz items of an attempt the learner has open: never to be revealed. */
      protectedAnswers: string[];
    };

export interface ModelRequest {
  task: TaskInput;
  tier: Tier;
  /** The tier's configured model name. */
  model: string;
  system: string;
  messages: ChatMessage[];
  maxTokens: number;
  /** Per-call deadline; the call fails with a ProviderError of kind 'timeout' past it. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface Completion {
  text: string;
  usage: Usage;
  /** The model that answered (for the deterministic provider, `deterministic`). */
  model: string;
  /** Why generation stopped: `end_turn`, `max_tokens`, … */
  stopReason: string;
}

export type StreamEvent = { type: 'delta'; text: string } | { type: 'done'; completion: Completion };

export interface ModelProvider {
  readonly name: 'anthropic' | 'deterministic';
  complete(request: ModelRequest): Promise<Completion>;
  /** The reply as it is written: deltas, then one `done` with the whole text and its usage. */
  stream(request: ModelRequest): AsyncIterable<StreamEvent>;
}

export interface EmbeddingProvider {
  readonly name: string;
  readonly dimensions: number;
  /** One unit-length vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

export type ProviderErrorKind =
  /** 429: the provider's rate limit (after the adapter's own retries). */
  | 'rate_limited'
  /** 529 (or 503): the provider is overloaded. */
  | 'overloaded'
  | 'timeout'
  /** Network failure or a 5xx. */
  | 'unavailable'
  /** 400/413/422: the request itself is wrong; retrying or escalating the same request cannot help. */
  | 'bad_request'
  /** 401/403: a wrong or revoked API key. */
  | 'auth';

/** A provider call that failed. The router falls back to the deterministic provider and says so. */
export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    /** From the provider's retry-after header, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** A rough token count for text no tokenizer has seen (the deterministic provider's usage, budget estimates). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);
