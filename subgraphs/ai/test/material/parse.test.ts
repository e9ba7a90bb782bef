import { describe, expect, it } from 'vitest';
import { parseMaterial } from '../../src/domain/material/parse.js';

const CARD = {
  kind: 'CLOZE',
  text: 'A {{c1::stack}} is a collection.',
  passageId: 'p1',
  quote: 'A stack is a collection.',
};
const CARDS = JSON.stringify({ cards: [CARD] });

describe('parseMaterial', () => {
  it('reads plain JSON, a ```json fence, and JSON inside prose', () => {
    for (const output of [
      CARDS,
      `\`\`\`json\n${CARDS}\n\`\`\``,
      `Here are the cards you asked for:\n\n\`\`\`json\n${CARDS}\n\`\`\`\n\nI hope they help.`,
      `Sure! ${CARDS} Let me know if you want more.`,
    ]) {
      expect(parseMaterial(output, 'FLASHCARD_EXTRACTION')).toEqual({ ok: true, candidates: [CARD] });
    }
  });

  it('passes entries through unchecked (the validator judges them) and reads quiz items from "items"', () => {
    const items = [{ type: 'SINGLE_CHOICE', prompt: 'Q?' }, 'not even an object'];
    expect(parseMaterial(JSON.stringify({ items }), 'QUIZ_GENERATION')).toEqual({ ok: true, candidates: items });
    expect(parseMaterial('{"cards":[]}', 'FLASHCARD_EXTRACTION')).toEqual({ ok: true, candidates: [] });
  });

  it.each([
    ['', 'EMPTY_OUTPUT'],
    ['   \n ', 'EMPTY_OUTPUT'],
    ['I cannot help with that.', 'NO_JSON'],
    ['{"cards": [{"kind": "CLOZE", "text": "A {{c1::stack}}",}]}', 'BAD_JSON'],
    ['```json\n{"cards": [\n```', 'NO_JSON'],
    ['```json\n{"cards": [}\n```', 'BAD_JSON'],
    ['{"cards": "none"}', 'WRONG_SHAPE'],
    ['[{"kind": "CLOZE"}]', 'WRONG_SHAPE'],
    ['{"flashcards": []}', 'WRONG_SHAPE'],
    ['x'.repeat(200_001), 'OUTPUT_TOO_LARGE'],
    [JSON.stringify({ cards: Array.from({ length: 51 }, () => CARD) }), 'TOO_MANY'],
  ])('refuses %j with %s', (output, code) => {
    const parsed = parseMaterial(output, 'FLASHCARD_EXTRACTION');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe(code);
      expect(parsed.error.message.length).toBeGreaterThan(10);
    }
  });

  it('refuses quiz items sent for flashcards, naming what it found', () => {
    const parsed = parseMaterial('{"items": []}', 'FLASHCARD_EXTRACTION');
    expect(parsed).toEqual({
      ok: false,
      error: { code: 'WRONG_SHAPE', message: 'The answer must have a "cards" list (it has "items").' },
    });
  });

  it('never throws, whatever it is given', () => {
    const nested = `{"cards": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    for (const output of [nested, null, undefined, 42, { cards: [] }, '{"__proto__": {"cards": []}}']) {
      const parsed = parseMaterial(output, 'FLASHCARD_EXTRACTION');
      expect(parsed.ok).toBe(false);
    }
  });
});
