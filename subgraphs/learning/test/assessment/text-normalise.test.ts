/** Typed answers compare after NFKC, case folding, whitespace and final-punctuation normalisation; accents count. */
import { describe, expect, it } from 'vitest';
import { matchesAccepted, normaliseAnswerText } from '../../src/domain/assessment/text-normalise.js';

describe('normaliseAnswerText', () => {
  it('folds case, including ß and final sigma', () => {
    expect(normaliseAnswerText('PaRiS')).toBe('paris');
    expect(normaliseAnswerText('STRASSE')).toBe(normaliseAnswerText('straße'));
    expect(normaliseAnswerText('ΟΔΟΣ')).toBe(normaliseAnswerText('οδος'));
  });

  it('applies NFKC: full-width letters, ligatures, composed and decomposed accents meet', () => {
    expect(normaliseAnswerText('ＡＢＣ１２３')).toBe('abc123');
    expect(normaliseAnswerText('ﬁsh')).toBe('fish');
    expect(normaliseAnswerText('cafe\u0301')).toBe(normaliseAnswerText('caf\u00e9'));
  });

  it('keeps accents: café is not cafe, and ё is not е', () => {
    expect(normaliseAnswerText('café')).not.toBe(normaliseAnswerText('cafe'));
    expect(normaliseAnswerText('ёлка')).not.toBe(normaliseAnswerText('елка'));
  });

  it('folds Cyrillic case and composes a decomposed ё', () => {
    expect(normaliseAnswerText('МОСКВА')).toBe('москва');
    expect(normaliseAnswerText('Ёлка')).toBe(normaliseAnswerText('е\u0308лка'));
  });

  it('trims and collapses inner whitespace of any kind', () => {
    expect(normaliseAnswerText('  New \t York\n City ')).toBe('new york city');
    expect(normaliseAnswerText('New\u00a0York\u3000City')).toBe('new york city');
    expect(normaliseAnswerText('Ne\u200bw York')).toBe('new york');
  });

  it('drops trailing sentence punctuation of any script, keeping meaningful symbols and leading punctuation', () => {
    expect(normaliseAnswerText('Paris.')).toBe('paris');
    expect(normaliseAnswerText('Paris !?')).toBe('paris');
    expect(normaliseAnswerText('Paris…')).toBe('paris');
    expect(normaliseAnswerText('東京。')).toBe('東京');
    expect(normaliseAnswerText('C#')).toBe('c#');
    expect(normaliseAnswerText('f(x)')).toBe('f(x)');
    expect(normaliseAnswerText('¿Qué?')).toBe('¿qué');
    expect(normaliseAnswerText('e.g. this')).toBe('e.g. this');
    expect(normaliseAnswerText('...')).toBe('');
  });
});

describe('matchesAccepted', () => {
  it('matches any accepted answer after normalising both sides', () => {
    expect(matchesAccepted(' paris. ', ['Lutetia', 'Paris'])).toBe(true);
    expect(matchesAccepted('Pariss', ['Paris'])).toBe(false);
  });

  it('never matches an empty or punctuation-only answer', () => {
    expect(matchesAccepted('', ['Paris'])).toBe(false);
    expect(matchesAccepted(' ?', ['Paris'])).toBe(false);
  });
});
