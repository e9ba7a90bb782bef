import { describe, expect, it } from 'vitest';
import { stem, tokenize, words } from '../../src/domain/retrieval/tokenize.js';

describe('tokenize', () => {
  it('lower-cases, drops stop words and stems', () => {
    expect(tokenize('The Caches were caching the cached pages')).toEqual(['cach', 'cach', 'cach', 'pag']);
  });

  it('keeps technical words whole', () => {
    expect(words('Use C++ or C#, then Node.js 3.14 (e.g. with npm)')).toEqual([
      'use',
      'c++',
      'or',
      'c#',
      'then',
      'node.js',
      '3.14',
      'e.g',
      'with',
      'npm',
    ]);
    expect(tokenize('node.js and c++')).toEqual(['node.js', 'c++']);
  });

  it('keeps an operator written on its own, but not dashes, ellipses or glued punctuation', () => {
    expect(tokenize('the := thing? Use x => x, v := <- ch ... or a -- b?!')).toEqual([
      ':=',
      'thing',
      'us',
      'x',
      '=>',
      'x',
      'v',
      ':=',
      '<-',
      'ch',
      'b',
    ]);
    expect(tokenize('a?.b and x!=y <-ch')).toEqual(['b', 'x', 'y', 'ch']);
  });

  it('splits at hyphens and sentence ends but not inside contractions', () => {
    expect(words("Well-known. Don't stop; the learner's notes")).toEqual([
      'well',
      'known',
      'dont',
      'stop',
      'the',
      'learner',
      'notes',
    ]);
  });

  it('reads words of any script', () => {
    expect(tokenize('Über straße 東京 café')).toEqual(['über', 'straße', '東京', 'café']);
  });

  it('gives nothing for punctuation or stop words alone', () => {
    expect(tokenize('?! — …')).toEqual([]);
    expect(tokenize('it is what it is')).toEqual([]);
  });
});

describe('stem', () => {
  it('conflates the regular forms of a word', () => {
    for (const group of [
      ['run', 'runs', 'running'],
      ['study', 'studies', 'studied', 'studying'],
      ['process', 'processes', 'processing', 'processed'],
      ['make', 'makes', 'making'],
      ['use', 'uses', 'used', 'using'],
      ['age', 'ages'],
      ['index', 'indexes', 'indexed', 'indexing'],
    ]) {
      expect(new Set(group.map(stem)).size, group.join(', ')).toBe(1);
    }
  });

  it('leaves short words, words that only look inflected, and non-letters alone', () => {
    expect(stem('string')).toBe('string');
    expect(stem('class')).toBe('class');
    expect(stem('status')).toBe('status');
    expect(stem('analysis')).toBe('analysis');
    expect(stem('speed')).toBe('speed');
    expect(stem('bus')).toBe('bus');
    expect(stem('gas')).toBe('gas');
    expect(stem('yes')).toBe('yes');
    expect(stem('bed')).toBe('bed');
    expect(stem('node.js')).toBe('node.js');
    expect(stem('2024s')).toBe('2024s');
  });

  it('keeps different words apart', () => {
    expect(stem('play')).not.toBe(stem('plan'));
    expect(stem('played')).toBe(stem('play'));
  });
});
