import { describe, expect, it } from 'vitest';
import { Bm25Index } from '../../src/domain/retrieval/bm25.js';
import type { CoursePassage } from '../../src/domain/retrieval/passage.js';
import { corpus, PHOTOGRAPHY, PYTHON } from './fixture.js';

const passage = (id: string, text: string, courseId = 'c1', lessonId = 'l1'): CoursePassage => ({
  id,
  courseId,
  lessonId,
  source: 'LESSON',
  text,
});

describe('Bm25Index', () => {
  it('ranks the passage with the rare query term first', () => {
    const index = new Bm25Index();
    index.add(passage('common-1', 'Loops repeat code. Loops run over lists and loops stop at the end.'));
    index.add(passage('common-2', 'Loops and lists: a loop visits every item of a list.'));
    index.add(passage('rare', 'A loop can be left early with a sentinel value.'));
    const hits = index.search('loop sentinel', { courseId: 'c1', k: 3 });
    expect(hits[0]!.passage.id).toBe('rare');
    expect(hits.map((h) => h.passage.id).sort()).toEqual(['common-1', 'common-2', 'rare']);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it('prefers the shorter of two passages with the same term count (length normalisation)', () => {
    const index = new Bm25Index();
    index.add(passage('short', 'Tuples are immutable.'));
    index.add(
      passage(
        'long',
        'Tuples are immutable, ordered, hashable when their items are, and often returned from functions.',
      ),
    );
    expect(index.search('immutable', { courseId: 'c1', k: 2 }).map((h) => h.passage.id)).toEqual(['short', 'long']);
  });

  it('only returns passages that share a term with the query, at most k of them', () => {
    const index = new Bm25Index();
    for (const p of corpus()) index.add(p);
    expect(index.search('quantum entanglement', { courseId: PYTHON, k: 5 })).toEqual([]);
    expect(index.search('python', { courseId: PYTHON, k: 2 })).toHaveLength(2);
    expect(index.search('the of and', { courseId: PYTHON, k: 5 })).toEqual([]);
  });

  it('searches one course only, with that course as its corpus', () => {
    const index = new Bm25Index();
    for (const p of corpus()) index.add(p);
    const photography = index.search('aperture shutter lens function', { courseId: PHOTOGRAPHY, k: 10 });
    expect(photography.length).toBeGreaterThan(0);
    expect(photography.every((h) => h.passage.courseId === PHOTOGRAPHY)).toBe(true);
    expect(index.search('aperture', { courseId: 'no-such-course', k: 10 })).toEqual([]);
  });

  it('forgets removed passages and lessons entirely', () => {
    const index = new Bm25Index();
    index.add(passage('a', 'Generators yield values lazily.', 'c1', 'l1'));
    index.add(passage('b', 'Generators are iterators.', 'c1', 'l1'));
    index.add(passage('c', 'Generators can be closed.', 'c1', 'l2'));
    expect(index.remove('a')).toBe(true);
    expect(index.remove('a')).toBe(false);
    expect(index.search('yield lazily', { courseId: 'c1', k: 5 })).toEqual([]);
    expect(index.removeLesson('l1')).toBe(1);
    expect(index.search('generators', { courseId: 'c1', k: 5 }).map((h) => h.passage.id)).toEqual(['c']);
    expect(index.removeLesson('l2')).toBe(1);
    expect(index.size).toBe(0);
    expect(index.search('generators', { courseId: 'c1', k: 5 })).toEqual([]);
  });

  it('replaces a passage added again under the same id', () => {
    const index = new Bm25Index();
    index.add(passage('a', 'Sets hold unique items.'));
    index.add(passage('a', 'Dictionaries map keys to values.'));
    expect(index.size).toBe(1);
    expect(index.search('unique sets', { courseId: 'c1', k: 5 })).toEqual([]);
    expect(index.search('dictionaries', { courseId: 'c1', k: 5 })[0]!.passage.text).toBe(
      'Dictionaries map keys to values.',
    );
  });

  it('matches inflected forms through the stemmer', () => {
    const index = new Bm25Index();
    index.add(passage('a', 'The function memoizes results of recursive calls.'));
    index.add(passage('b', 'Lists keep their items in order.'));
    expect(index.search('memoizing a recursive function call', { courseId: 'c1', k: 1 })[0]!.passage.id).toBe('a');
  });
});
