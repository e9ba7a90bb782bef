/**
 * The embedded deterministic provider, the default: it answers from the structured task, not the
 * prompt (provider.ts), in the very output format the prompt asks a model for. Flashcards and quiz
 * items come from the lesson's key sentences and definitions (domain/material), tutor replies from
 * rule-based Socratic hints (domain/tutor). The same task always gets the same answer, costs
 * nothing and needs no network; its usage is estimated from the text's length.
 */
import { extractFlashcards, writeQuizItems } from '../domain/material/deterministic.js';
import { socraticReply } from '../domain/tutor/deterministic.js';
import {
  estimateTokens,
  type Completion,
  type ModelProvider,
  type ModelRequest,
  type StreamEvent,
} from './provider.js';

export const DETERMINISTIC_MODEL = 'deterministic';

function answer(request: ModelRequest): string {
  const { task } = request;
  switch (task.kind) {
    case 'FLASHCARD_EXTRACTION':
      return extractFlashcards(task);
    case 'QUIZ_GENERATION':
      return writeQuizItems(task);
    case 'TUTOR':
      return socraticReply(task);
  }
}

function complete(request: ModelRequest): Completion {
  const text = answer(request);
  const prompt = [request.system, ...request.messages.map((m) => m.content)].join('\n');
  return {
    text,
    usage: { inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(text) },
    model: DETERMINISTIC_MODEL,
    stopReason: 'end_turn',
  };
}

/** Sentence-sized pieces (with their trailing space), as a model's stream would deliver them. */
const pieces = (text: string): string[] => text.match(/[^.!?\n]+[.!?\n]*\s*/g) ?? [text];

export function createDeterministicProvider(): ModelProvider {
  return {
    name: 'deterministic',
    complete: async (request) => complete(request),
    async *stream(request): AsyncIterable<StreamEvent> {
      const completion = complete(request);
      for (const text of pieces(completion.text)) yield { type: 'delta', text };
      yield { type: 'done', completion };
    },
  };
}
