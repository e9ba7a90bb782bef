/**
 * The next best activity for a learner in a course: review due cards, study a lesson or take a quiz,
 * never touching a concept whose prerequisites are not mastered.
 */
import { badInput } from '@coursegraph/service-kit';
import { MASTERY_THRESHOLD } from './bkt.js';
import { prerequisiteIndex, topologicalOrder, unmetWith, type ConceptEdge } from './concept-graph.js';

/**
 * Due cards come first from this many on: 1, i.e. whenever any is due. FSRS schedules each review
 * for the day recall falls to the desired retention, so every day of delay costs recall, while a
 * review takes seconds; studying new material on top of forgotten material is the worse trade.
 */
export const DUE_CARDS_FIRST = 1;

/** A lesson of the course as the recommender sees it. */
export interface ActivityLesson {
  lessonId: string;
  kind: 'VIDEO' | 'ARTICLE' | 'QUIZ';
  /** Position in course order (module order, then lesson order); lower comes first. */
  position: number;
  /** Concepts the lesson is tagged with (may be empty). */
  conceptIds: readonly string[];
  /** Whether the learner completed the lesson. For a quiz, used only when `quizPassed` is not given. */
  completed: boolean;
  /** For a quiz: whether the learner passed it. */
  quizPassed?: boolean;
}

/** What {@link nextBestActivity} needs. */
export interface NextActivityInput {
  /** When the recommendation is made. Due counts are computed by the caller at this instant; the rules do not depend on it otherwise. */
  now: Date;
  concepts: readonly { id: string; title: string }[];
  edges: readonly ConceptEdge[];
  /** P(known) per concept id (0..1); a concept missing from the map is not mastered. */
  mastery: ReadonlyMap<string, number>;
  /** The learner's cards due now in this course (after daily limits). */
  dueCardCount: number;
  lessons: readonly ActivityLesson[];
}

/** The recommendation. */
export type NextActivity =
  | { kind: 'REVIEW_CARDS'; dueCount: number }
  | { kind: 'STUDY_LESSON' | 'TAKE_QUIZ'; lessonId: string; conceptId: string | null; reason: string }
  | { kind: 'NONE'; reason: string };

/** Whether the learner still has something to do in a lesson: material not completed, a quiz not passed. */
function outstanding(lesson: ActivityLesson): boolean {
  if (lesson.kind === 'QUIZ') return !(lesson.quizPassed ?? lesson.completed);
  return !lesson.completed;
}

function checkInput(input: NextActivityInput): void {
  if (!(input.now instanceof Date) || Number.isNaN(input.now.getTime()))
    throw badInput('now must be a valid date.', 'now');
  if (!Number.isInteger(input.dueCardCount) || input.dueCardCount < 0) {
    throw badInput(`dueCardCount is ${input.dueCardCount}; it must be a whole number, zero or more.`, 'dueCardCount');
  }
  const known = new Set(input.concepts.map((c) => c.id));
  for (const [id, p] of input.mastery) {
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
      throw badInput(`Mastery of concept ${id} is ${String(p)}; it must be a probability between 0 and 1.`, 'mastery');
    }
  }
  const lessonIds = new Set<string>();
  for (const lesson of input.lessons) {
    if (lessonIds.has(lesson.lessonId)) throw badInput(`Lesson ${lesson.lessonId} is listed twice.`, 'lessons');
    lessonIds.add(lesson.lessonId);
    if (!Number.isFinite(lesson.position)) throw badInput(`Lesson ${lesson.lessonId} has no position.`, 'lessons');
    if (!['VIDEO', 'ARTICLE', 'QUIZ'].includes(lesson.kind)) {
      throw badInput(
        `Lesson ${lesson.lessonId} has kind ${String(lesson.kind)}; it must be VIDEO, ARTICLE or QUIZ.`,
        'lessons',
      );
    }
    for (const id of lesson.conceptIds) {
      if (!known.has(id))
        throw badInput(
          `Lesson ${lesson.lessonId} is tagged with concept ${id}, which is not in the course.`,
          'lessons',
        );
    }
  }
}

function percent(p: number): string {
  return `${Math.floor(p * 100)}%`;
}

/**
 * The next best activity, by these rules, in order:
 *
 * 1. **Due cards first**: with at least {@link DUE_CARDS_FIRST} (1) card due, REVIEW_CARDS.
 * 2. **Mastered** concepts have P(known) ≥ {@link MASTERY_THRESHOLD} (0.95). A concept is
 *    **blocked** when any of its prerequisites, direct or indirect, is not mastered; the
 *    **frontier** is the concepts not mastered and not blocked.
 * 3. A lesson tagged with ANY blocked concept is never recommended, whatever else it teaches.
 * 4. Among the other lessons tagged with at least one frontier concept and still outstanding, the
 *    first in course order (by `position`, then input order): an ARTICLE/VIDEO not completed gives
 *    STUDY_LESSON; a QUIZ not passed gives TAKE_QUIZ, but only once every ARTICLE/VIDEO before it that
 *    shares one of its concepts is completed (the material comes before its quiz; a quiz whose
 *    material is blocked waits). `conceptId` is the lesson's frontier concept with the lowest mastery
 *    (ties: prerequisite order).
 * 5. Otherwise, untagged lessons still outstanding, in course order (`conceptId` null).
 * 6. Otherwise NONE, saying whether everything is mastered and done or what is in the way.
 *
 * Lessons tagged only with mastered concepts are skipped: the learner already knows what they teach.
 * Refuses (BAD_USER_INPUT) a cyclic graph, unknown concept ids, mastery outside [0, 1], a negative or
 * fractional due count, and duplicate lessons.
 */
export function nextBestActivity(input: NextActivityInput): NextActivity {
  checkInput(input);
  if (input.dueCardCount >= DUE_CARDS_FIRST) return { kind: 'REVIEW_CARDS', dueCount: input.dueCardCount };

  const order = topologicalOrder(input.concepts, input.edges);
  const rank = new Map(order.map((id, i) => [id, i]));
  const title = new Map(input.concepts.map((c) => [c.id, c.title]));
  const p = (id: string) => input.mastery.get(id) ?? 0;
  const mastered = new Set(order.filter((id) => p(id) >= MASTERY_THRESHOLD));
  const prerequisites = prerequisiteIndex(input.edges);
  const blocked = new Set(order.filter((id) => unmetWith(id, prerequisites, mastered).length > 0));
  const frontier = new Set(order.filter((id) => !mastered.has(id) && !blocked.has(id)));

  const lessons = input.lessons
    .map((lesson, i) => ({ lesson, i }))
    .sort((a, b) => a.lesson.position - b.lesson.position || a.i - b.i)
    .map(({ lesson }) => lesson);
  const allowed = lessons.filter((l) => !l.conceptIds.some((id) => blocked.has(id)));

  for (const lesson of allowed) {
    const taught = lesson.conceptIds.filter((id) => frontier.has(id));
    if (taught.length === 0 || !outstanding(lesson)) continue;
    if (lesson.kind === 'QUIZ') {
      const materialLeft = lessons.some(
        (l) =>
          l.kind !== 'QUIZ' &&
          !l.completed &&
          l.position < lesson.position &&
          l.conceptIds.some((id) => lesson.conceptIds.includes(id)),
      );
      if (materialLeft) continue;
    }
    const conceptId = [...taught].sort((a, b) => p(a) - p(b) || rank.get(a)! - rank.get(b)!)[0]!;
    const about = `${title.get(conceptId)} (mastery ${percent(p(conceptId))}), whose prerequisites you have mastered`;
    return lesson.kind === 'QUIZ'
      ? { kind: 'TAKE_QUIZ', lessonId: lesson.lessonId, conceptId, reason: `Test yourself on ${about}.` }
      : { kind: 'STUDY_LESSON', lessonId: lesson.lessonId, conceptId, reason: `Learn ${about}.` };
  }

  const untagged = lessons.find((l) => l.conceptIds.length === 0 && outstanding(l));
  if (untagged) {
    return {
      kind: untagged.kind === 'QUIZ' ? 'TAKE_QUIZ' : 'STUDY_LESSON',
      lessonId: untagged.lessonId,
      conceptId: null,
      reason: 'Next in course order.',
    };
  }

  if (frontier.size === 0 && blocked.size === 0) {
    const left = lessons.some((l) => outstanding(l));
    return {
      kind: 'NONE',
      reason: left
        ? 'Every concept of the course is mastered; the lessons left only teach what you know.'
        : 'Every concept is mastered and every lesson done.',
    };
  }
  const names = [...frontier].map((id) => title.get(id)).join(', ');
  return {
    kind: 'NONE',
    reason: `No lesson or quiz left for the concepts you can work on now (${names}); review your cards or retake practice to build mastery.`,
  };
}
