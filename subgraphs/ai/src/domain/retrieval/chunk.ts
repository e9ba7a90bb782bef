/**
 * Lesson text and captions → passages small enough to quote to a model and to rank on their own.
 * A lesson splits at paragraphs; a long paragraph at sentence boundaries; a tiny fragment (a
 * heading, a one-line aside) joins its neighbour so it is never retrieved without context.
 * Captions go in windows of about 30 seconds, each remembering when it starts.
 */
import { badInput } from '@coursegraph/service-kit';
import { passageId, type CoursePassage } from './passage.js';

/** A passage's usual upper bound, in characters (about 150 tokens). */
export const MAX_PASSAGE_CHARS = 600;
/** Below this a piece is a fragment and joins a neighbour. */
export const MIN_PASSAGE_CHARS = 80;
/** A fragment may push its neighbour this far past MAX_PASSAGE_CHARS rather than stand alone. */
const MERGED_LIMIT_CHARS = MAX_PASSAGE_CHARS + MIN_PASSAGE_CHARS;
/** How much video one caption passage covers. */
export const CAPTION_WINDOW_SECONDS = 30;

export interface LessonText {
  courseId: string;
  lessonId: string;
  text: string;
}

export interface CaptionSegment {
  startsAtSeconds: number;
  endsAtSeconds: number;
  text: string;
}

export interface LessonCaptions {
  courseId: string;
  lessonId: string;
  segments: CaptionSegment[];
}

/** A lesson's text → its passages, in reading order, with ids stable across re-chunking. */
export function chunkLesson({ courseId, lessonId, text }: LessonText): CoursePassage[] {
  requireIds(courseId, lessonId);
  if (typeof text !== 'string') throw badInput('The lesson text must be a string.', 'text');
  const pieces = paragraphsOf(text).flatMap(piecesOfParagraph);
  return mergeFragments(pieces).map((piece, ordinal) => ({
    id: passageId(lessonId, 'LESSON', ordinal),
    courseId,
    lessonId,
    source: 'LESSON' as const,
    text: piece,
  }));
}

/** A video's caption segments → passages of about CAPTION_WINDOW_SECONDS each, with their start time. */
export function chunkCaptions({ courseId, lessonId, segments }: LessonCaptions): CoursePassage[] {
  requireIds(courseId, lessonId);
  if (!Array.isArray(segments)) throw badInput('The caption segments must be a list.', 'segments');
  segments.forEach(checkSegment);

  const spoken = segments
    .map((segment) => ({ startsAtSeconds: segment.startsAtSeconds, text: collapseWhitespace(segment.text) }))
    .filter((segment) => segment.text.length > 0)
    .sort((a, b) => a.startsAtSeconds - b.startsAtSeconds);

  const windows: { startsAtSeconds: number; text: string }[] = [];
  for (const segment of spoken) {
    const current = windows.at(-1);
    const fits =
      current &&
      segment.startsAtSeconds - current.startsAtSeconds < CAPTION_WINDOW_SECONDS &&
      current.text.length + 1 + segment.text.length <= MAX_PASSAGE_CHARS;
    if (fits) current.text = `${current.text} ${segment.text}`;
    else windows.push({ ...segment });
  }
  // A last few words ("thanks for watching") belong with the window before them.
  const last = windows.at(-1);
  const previous = windows.at(-2);
  if (last && previous && last.text.length < MIN_PASSAGE_CHARS) {
    if (previous.text.length + 1 + last.text.length <= MERGED_LIMIT_CHARS) {
      previous.text = `${previous.text} ${last.text}`;
      windows.pop();
    }
  }

  return windows.map((window, ordinal) => ({
    id: passageId(lessonId, 'CAPTION', ordinal),
    courseId,
    lessonId,
    source: 'CAPTION' as const,
    text: window.text,
    startsAtSeconds: window.startsAtSeconds,
  }));
}

function requireIds(courseId: string, lessonId: string) {
  if (typeof courseId !== 'string' || courseId.trim() === '')
    throw badInput('A passage needs a course id.', 'courseId');
  if (typeof lessonId !== 'string' || lessonId.trim() === '')
    throw badInput('A passage needs a lesson id.', 'lessonId');
}

function checkSegment(segment: CaptionSegment, index: number) {
  const { startsAtSeconds: start, endsAtSeconds: end, text } = segment ?? {};
  if (typeof start !== 'number' || !Number.isFinite(start) || start < 0) {
    throw badInput(
      `Caption segment ${index} starts at ${String(start)}: a time in seconds ≥ 0 is expected.`,
      'segments',
    );
  }
  if (typeof end !== 'number' || !Number.isFinite(end) || end < start) {
    throw badInput(`Caption segment ${index} ends at ${String(end)}, before it starts (${start} s).`, 'segments');
  }
  if (typeof text !== 'string') throw badInput(`Caption segment ${index} has no text.`, 'segments');
}

const collapseWhitespace = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Paragraphs are separated by blank lines; line breaks inside one are just spaces. */
function paragraphsOf(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map(collapseWhitespace)
    .filter((paragraph) => paragraph.length > 0);
}

/** One piece when the paragraph fits, else sentences packed greedily up to MAX_PASSAGE_CHARS. */
function piecesOfParagraph(paragraph: string): string[] {
  if (paragraph.length <= MAX_PASSAGE_CHARS) return [paragraph];
  const pieces: string[] = [];
  let current = '';
  for (const sentence of sentencesOf(paragraph).flatMap(splitAtWords)) {
    if (current && current.length + 1 + sentence.length > MAX_PASSAGE_CHARS) {
      pieces.push(current);
      current = sentence;
    } else {
      current = current ? `${current} ${sentence}` : sentence;
    }
  }
  // A short last sentence stays with its own paragraph rather than leading into the next one.
  const previous = pieces.at(-1);
  if (previous && current.length < MIN_PASSAGE_CHARS && previous.length + 1 + current.length <= MERGED_LIMIT_CHARS) {
    pieces[pieces.length - 1] = `${previous} ${current}`;
  } else if (current) {
    pieces.push(current);
  }
  return pieces;
}

/**
 * A sentence ends at . ! ? or … (and any closing quote or bracket) followed by space and a capital
 * letter or digit, so "e.g. the", "node.js" and "3.14" do not split.
 */
function sentencesOf(paragraph: string): string[] {
  return paragraph.split(/(?<=[.!?…]["'”’)\]]*)\s+(?=["'“‘([]*[\p{Lu}\p{N}])/u);
}

/** A single sentence longer than a passage (a code listing, a run-on list) is wrapped at spaces. */
function splitAtWords(sentence: string): string[] {
  if (sentence.length <= MAX_PASSAGE_CHARS) return [sentence];
  const pieces: string[] = [];
  let current = '';
  for (const word of sentence.split(' ')) {
    if (current && current.length + 1 + word.length > MAX_PASSAGE_CHARS) {
      pieces.push(current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
    // A "word" longer than a passage (a URL, base64) is cut where it must be.
    while (current.length > MAX_PASSAGE_CHARS) {
      pieces.push(current.slice(0, MAX_PASSAGE_CHARS));
      current = current.slice(MAX_PASSAGE_CHARS);
    }
  }
  if (current) pieces.push(current);
  return pieces;
}

/**
 * Fragments shorter than MIN_PASSAGE_CHARS join the next piece (a heading leads into its
 * paragraph), or the previous one when the next is too full or there is none.
 */
function mergeFragments(pieces: string[]): string[] {
  const merged: string[] = [];
  let fragment = '';
  for (const piece of pieces) {
    let current = piece;
    if (fragment) {
      if (fragment.length + 2 + piece.length <= MERGED_LIMIT_CHARS) current = `${fragment}\n\n${piece}`;
      else appendToLastOrPush(merged, fragment);
      fragment = '';
    }
    if (current.length < MIN_PASSAGE_CHARS) fragment = current;
    else merged.push(current);
  }
  if (fragment) appendToLastOrPush(merged, fragment);
  return merged;
}

function appendToLastOrPush(merged: string[], fragment: string) {
  const last = merged.at(-1);
  if (last !== undefined && last.length + 2 + fragment.length <= MERGED_LIMIT_CHARS) {
    merged[merged.length - 1] = `${last}\n\n${fragment}`;
  } else {
    merged.push(fragment);
  }
}
