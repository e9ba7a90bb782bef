/**
 * A model's answer to a material task → the candidates it holds, unchecked (validate.ts checks each).
 * Models wrap JSON in a ```json fence or a sentence of prose now and then; both are tolerated. Anything
 * else is a specific parse error returned, never thrown, so a bad answer is counted and escalated like a
 * rejected one.
 */
import type { TaskType } from '../../providers/provider.js';
import { MATERIAL_LIMITS } from './candidate.js';

export type ParseErrorCode =
  /** Nothing but whitespace. */
  | 'EMPTY_OUTPUT'
  /** Longer than MATERIAL_LIMITS.outputChars. */
  | 'OUTPUT_TOO_LARGE'
  /** No JSON object anywhere in the text. */
  | 'NO_JSON'
  /** A JSON object was there but does not parse. */
  | 'BAD_JSON'
  /** Valid JSON, but not {"cards": [...]} (flashcards) or {"items": [...]} (quiz items). */
  | 'WRONG_SHAPE'
  /** More entries than MATERIAL_LIMITS.maxPerTask. */
  | 'TOO_MANY';

export type ParsedMaterial =
  { ok: true; candidates: unknown[] } | { ok: false; error: { code: ParseErrorCode; message: string } };

const fail = (code: ParseErrorCode, message: string): ParsedMaterial => ({ ok: false, error: { code, message } });

/** The list a task's answer holds its entries in: "cards" for flashcards, "items" for quiz items. */
export const outputKey = (task: Extract<TaskType, 'FLASHCARD_EXTRACTION' | 'QUIZ_GENERATION'>) =>
  task === 'FLASHCARD_EXTRACTION' ? 'cards' : 'items';

/** Parses the answer of a FLASHCARD_EXTRACTION or QUIZ_GENERATION call. */
export function parseMaterial(
  output: unknown,
  task: Extract<TaskType, 'FLASHCARD_EXTRACTION' | 'QUIZ_GENERATION'>,
): ParsedMaterial {
  if (typeof output !== 'string' || output.trim() === '') return fail('EMPTY_OUTPUT', 'The answer is empty.');
  if (output.length > MATERIAL_LIMITS.outputChars)
    return fail(
      'OUTPUT_TOO_LARGE',
      `The answer has ${output.length} characters; at most ${MATERIAL_LIMITS.outputChars} are read.`,
    );
  const json = jsonPart(output);
  if (json === undefined) return fail('NO_JSON', 'The answer holds no JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return fail('BAD_JSON', `The answer's JSON does not parse: ${err instanceof Error ? err.message : String(err)}.`);
  }
  const key = outputKey(task);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail('WRONG_SHAPE', `The answer must be a JSON object with a "${key}" list.`);
  const list = (value as Record<string, unknown>)[key];
  if (!Array.isArray(list)) {
    const keys = Object.keys(value)
      .slice(0, 5)
      .map((k) => JSON.stringify(k));
    return fail(
      'WRONG_SHAPE',
      `The answer must have a "${key}" list (it has ${keys.length ? keys.join(', ') : 'no fields'}).`,
    );
  }
  if (list.length > MATERIAL_LIMITS.maxPerTask)
    return fail('TOO_MANY', `The answer has ${list.length} entries; at most ${MATERIAL_LIMITS.maxPerTask} are taken.`);
  return { ok: true, candidates: list };
}

/** The JSON of an answer: inside its first code fence if it has one, else from the first "{" to the last "}". */
function jsonPart(output: string): string | undefined {
  const fenced = /```[a-zA-Z]*[ \t]*\r?\n?([\s\S]*?)```/.exec(output);
  const text = fenced ? fenced[1]! : output;
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}
