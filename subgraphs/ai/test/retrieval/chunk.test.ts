import { describe, expect, it } from 'vitest';
import {
  CAPTION_WINDOW_SECONDS,
  MAX_PASSAGE_CHARS,
  MIN_PASSAGE_CHARS,
  chunkCaptions,
  chunkLesson,
} from '../../src/domain/retrieval/chunk.js';
import { passageId } from '../../src/domain/retrieval/passage.js';

const courseId = 'course-1';
const lessonId = 'lesson-1';

/** n distinct sentences of about 70 characters each. */
const sentences = (n: number, topic: string) =>
  Array.from({ length: n }, (_, i) => `Sentence ${i + 1} explains one more detail about ${topic} in plain words.`);

describe('chunkLesson', () => {
  it('gives one passage per paragraph, in order, with the lesson and course', () => {
    const first = sentences(3, 'variables').join(' ');
    const second = sentences(4, 'loops').join(' ');
    const passages = chunkLesson({ courseId, lessonId, text: `${first}\n\n${second}\n` });
    expect(passages.map((p) => p.text)).toEqual([first, second]);
    expect(passages.every((p) => p.courseId === courseId && p.lessonId === lessonId && p.source === 'LESSON')).toBe(
      true,
    );
    expect(passages.map((p) => p.id)).toEqual([passageId(lessonId, 'LESSON', 0), passageId(lessonId, 'LESSON', 1)]);
  });

  it('gives the same ids when the same text is chunked again, and other ids for another lesson', () => {
    const text = `${sentences(3, 'a').join(' ')}\n\n${sentences(3, 'b').join(' ')}`;
    const once = chunkLesson({ courseId, lessonId, text });
    const again = chunkLesson({ courseId, lessonId, text });
    expect(again).toEqual(once);
    const elsewhere = chunkLesson({ courseId, lessonId: 'lesson-2', text });
    expect(elsewhere.map((p) => p.id).filter((id) => once.some((p) => p.id === id))).toEqual([]);
    expect(once[0]!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('splits a long paragraph at sentence boundaries, each piece within the limit', () => {
    const long = sentences(20, 'recursion');
    const passages = chunkLesson({ courseId, lessonId, text: long.join(' ') });
    expect(passages.length).toBeGreaterThan(1);
    for (const passage of passages) {
      expect(passage.text.length).toBeLessThanOrEqual(MAX_PASSAGE_CHARS);
      expect(passage.text).toMatch(/^Sentence \d+ .*plain words\.$/); // whole sentences only
    }
    expect(passages.map((p) => p.text).join(' ')).toBe(long.join(' '));
  });

  it('does not split at abbreviations, file names or decimals', () => {
    const tricky = 'Install Node.js 20.1, e.g. from the website, then run it. ' + sentences(10, 'node').join(' ');
    const passages = chunkLesson({ courseId, lessonId, text: tricky });
    expect(passages[0]!.text.startsWith('Install Node.js 20.1, e.g. from the website, then run it.')).toBe(true);
  });

  it('wraps a single sentence longer than a passage at spaces', () => {
    const runOn = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const passages = chunkLesson({ courseId, lessonId, text: runOn });
    expect(passages.length).toBeGreaterThan(1);
    expect(passages.every((p) => p.text.length <= MAX_PASSAGE_CHARS)).toBe(true);
    expect(passages.map((p) => p.text).join(' ')).toBe(runOn);
  });

  it('joins a heading to the paragraph after it and a short closing line to the one before', () => {
    const body = sentences(4, 'functions').join(' ');
    const passages = chunkLesson({ courseId, lessonId, text: `Functions\n\n${body}\n\nThat is all.` });
    expect(passages).toHaveLength(1);
    expect(passages[0]!.text).toBe(`Functions\n\n${body}\n\nThat is all.`);
  });

  it('keeps a lesson that is one short line as one passage', () => {
    expect(chunkLesson({ courseId, lessonId, text: 'Welcome!' }).map((p) => p.text)).toEqual(['Welcome!']);
    expect(chunkLesson({ courseId, lessonId, text: ' \n\n ' })).toEqual([]);
  });

  it('never leaves a fragment on its own when it has a neighbour', () => {
    const text = [
      'Intro',
      sentences(8, 'arrays').join(' '),
      'Note',
      'Another short line.',
      sentences(2, 'maps').join(' '),
    ].join('\n\n');
    const passages = chunkLesson({ courseId, lessonId, text });
    expect(passages.every((p) => p.text.length >= MIN_PASSAGE_CHARS)).toBe(true);
    expect(
      passages
        .map((p) => p.text)
        .join('\n\n')
        .replace(/\s+/g, ' '),
    ).toBe(text.replace(/\s+/g, ' '));
  });

  it('refuses a passage without a course or lesson', () => {
    expect(() => chunkLesson({ courseId: '', lessonId, text: 'x' })).toThrow(/course id/);
    expect(() => chunkLesson({ courseId, lessonId: ' ', text: 'x' })).toThrow(/lesson id/);
  });
});

describe('chunkCaptions', () => {
  const segment = (start: number, text: string) => ({ startsAtSeconds: start, endsAtSeconds: start + 4, text });

  it('groups segments into windows of about 30 s that know when they start', () => {
    const segments = Array.from({ length: 21 }, (_, i) => segment(i * 5, `Caption line number ${i} about sorting.`));
    const passages = chunkCaptions({ courseId, lessonId, segments });
    expect(passages.map((p) => p.startsAtSeconds)).toEqual([0, 30, 60, 90]);
    expect(passages[0]!.text).toBe([0, 1, 2, 3, 4, 5].map((i) => `Caption line number ${i} about sorting.`).join(' '));
    expect(passages.every((p) => p.source === 'CAPTION' && p.lessonId === lessonId && p.courseId === courseId)).toBe(
      true,
    );
    for (const passage of passages) {
      const window = segments.filter((s) => passage.text.includes(s.text)).map((s) => s.startsAtSeconds);
      expect(Math.max(...window) - Math.min(...window)).toBeLessThan(CAPTION_WINDOW_SECONDS);
    }
    expect(passages[1]!.id).toBe(passageId(lessonId, 'CAPTION', 1));
    expect(passages[1]!.id).not.toBe(passageId(lessonId, 'LESSON', 1));
  });

  it('orders segments by time and skips empty ones', () => {
    const passages = chunkCaptions({
      courseId,
      lessonId,
      segments: [segment(10, 'second part of it'), segment(0, 'first part of it'), segment(5, '  ')],
    });
    expect(passages).toEqual([
      expect.objectContaining({ text: 'first part of it second part of it', startsAtSeconds: 0 }),
    ]);
  });

  it('folds a short last window into the one before', () => {
    const segments = [...Array.from({ length: 6 }, (_, i) => segment(i * 5, `Long caption sentence ${i} here.`))];
    segments.push(segment(31, 'Thanks for watching.'));
    const passages = chunkCaptions({ courseId, lessonId, segments });
    expect(passages).toHaveLength(1);
    expect(passages[0]!.text.endsWith('Thanks for watching.')).toBe(true);
  });

  it('closes a window early when its text would pass the passage limit', () => {
    const wordy = 'x'.repeat(250);
    const passages = chunkCaptions({ courseId, lessonId, segments: [0, 1, 2, 3].map((s) => segment(s, wordy)) });
    expect(passages.map((p) => p.startsAtSeconds)).toEqual([0, 2]);
    expect(passages.every((p) => p.text.length <= MAX_PASSAGE_CHARS)).toBe(true);
  });

  it('refuses segments with impossible times or no text', () => {
    const bad = (s: object) => () => chunkCaptions({ courseId, lessonId, segments: [s as never] });
    expect(bad({ startsAtSeconds: -1, endsAtSeconds: 2, text: 'a' })).toThrow(/segment 0 starts at -1/);
    expect(bad({ startsAtSeconds: Number.NaN, endsAtSeconds: 2, text: 'a' })).toThrow(/starts at NaN/);
    expect(bad({ startsAtSeconds: 5, endsAtSeconds: 2, text: 'a' })).toThrow(/ends at 2, before it starts/);
    expect(bad({ startsAtSeconds: 1, endsAtSeconds: 2 })).toThrow(/has no text/);
  });
});
