/**
 * Cloze notes: a text with deletions written {{c1::answer}} or {{c1::answer::hint}}. Every deletion
 * number makes one card (siblings), which hides the deletions of that number and shows the others.
 */
const DELETION = /\{\{c(\d{1,2})::(.*?)(?:::(.*?))?\}\}/g;

/** The distinct deletion numbers of a text, ascending. */
export function clozeOrdinals(text: string): number[] {
  const ordinals = new Set<number>();
  for (const m of text.matchAll(DELETION)) ordinals.add(Number(m[1]));
  return [...ordinals].filter((n) => n > 0).sort((a, b) => a - b);
}

/** The question (deletions of `ordinal` hidden, showing the hint when there is one) and the answer. */
export function clozeFaces(text: string, ordinal: number): { front: string; back: string } {
  const front = text.replace(DELETION, (_m, n: string, answer: string, hint?: string) =>
    Number(n) === ordinal ? `[${hint ?? '...'}]` : answer,
  );
  const back = text.replace(DELETION, (_m, _n: string, answer: string) => answer);
  return { front, back };
}
