/**
 * Course's events (schema/events/coursegraph/course/v1): built from published content and written
 * to the outbox inside the transaction that publishes or archives.
 */
import { CourseEvents, course as pb } from '@coursegraph/contracts';
import { enqueueEvent, type EnqueueOptions, type EventInit } from '@coursegraph/service-kit';
import type { CourseLevel, LessonKind } from '../generated/prisma/client.js';
import type { Tx } from '../data/db.js';
import type { CourseTree } from './content.js';

export const CONTEXT = 'course';

type SnapshotInit = NonNullable<EventInit<typeof CourseEvents.published>['course']>;
type LessonInit = NonNullable<EventInit<typeof CourseEvents.lessonChanged>['lesson']>;

const LEVELS: Record<CourseLevel, pb.CourseLevel> = {
  BEGINNER: pb.CourseLevel.BEGINNER,
  INTERMEDIATE: pb.CourseLevel.INTERMEDIATE,
  ADVANCED: pb.CourseLevel.ADVANCED,
};

const KINDS: Record<LessonKind, pb.LessonKind> = {
  VIDEO: pb.LessonKind.VIDEO,
  ARTICLE: pb.LessonKind.ARTICLE,
  QUIZ: pb.LessonKind.QUIZ,
};

/** Lessons as events carry them: positions count across the course (modules in order, then lessons). */
export function lessonMessages(tree: CourseTree): LessonInit[] {
  let position = 0;
  return tree.modules.flatMap((m) =>
    m.lessons.map((l) => ({
      lessonId: l.id,
      moduleId: m.id,
      moduleTitle: m.title,
      title: l.title,
      kind: KINDS[l.kind],
      position: position++,
      required: l.required,
      bodyText: l.body,
      durationSeconds: l.durationSeconds,
      freePreview: l.freePreview,
    })),
  );
}

export function snapshotMessage(tree: CourseTree, version: number, publishedAt: Date): SnapshotInit {
  const c = tree.content;
  return {
    courseId: c.courseId,
    version,
    instructorId: c.instructorId,
    title: c.title,
    slug: c.slug,
    summary: c.summary,
    description: c.description,
    category: c.category,
    tags: c.tags,
    level: LEVELS[c.level],
    language: c.language,
    price: { amountMinor: BigInt(c.price.amountMinor), currency: c.price.currency },
    prerequisiteCourseIds: c.prerequisiteIds,
    lessons: lessonMessages(tree),
    publishedAt: publishedAt.toISOString(),
    // Course keeps no copy of identity's users; consumers that need the name ask the graph.
    instructorName: '',
  };
}

export interface LessonChange {
  change: pb.LessonChange;
  lesson: LessonInit;
}

/**
 * One change per lesson whose published form differs between two versions (any field, including
 * its course-wide position and its module's title), so a consumer's projection stays exact.
 * Order: added and updated lessons in course order, then removed ones in their former order.
 */
export function lessonChanges(previous: CourseTree, next: CourseTree): LessonChange[] {
  const before = new Map(lessonMessages(previous).map((l) => [l.lessonId!, l]));
  const after = lessonMessages(next);
  const changes: LessonChange[] = [];
  for (const lesson of after) {
    const old = before.get(lesson.lessonId!);
    if (!old) changes.push({ change: pb.LessonChange.ADDED, lesson });
    else if (JSON.stringify(old) !== JSON.stringify(lesson)) changes.push({ change: pb.LessonChange.UPDATED, lesson });
  }
  const kept = new Set(after.map((l) => l.lessonId));
  for (const old of before.values()) {
    if (!kept.has(old.lessonId)) changes.push({ change: pb.LessonChange.REMOVED, lesson: { lessonId: old.lessonId } });
  }
  return changes;
}

export interface Publication {
  tree: CourseTree;
  version: number;
  publishedAt: Date;
  /** The version this one replaces; null for a first publication. */
  previous: CourseTree | null;
}

/** published (first publication) or updated (a later one) plus one lessonChanged per changed lesson. */
export async function enqueuePublication(tx: Tx, p: Publication, options: EnqueueOptions): Promise<void> {
  const course = snapshotMessage(p.tree, p.version, p.publishedAt);
  if (!p.previous) {
    await enqueueEvent(tx, CONTEXT, CourseEvents.published, { course }, options);
    return;
  }
  await enqueueEvent(tx, CONTEXT, CourseEvents.updated, { course }, options);
  for (const { change, lesson } of lessonChanges(p.previous, p.tree)) {
    await enqueueEvent(
      tx,
      CONTEXT,
      CourseEvents.lessonChanged,
      { courseId: p.tree.content.courseId, courseVersion: p.version, change, lesson },
      options,
    );
  }
}

/** course.course.created: the draft's owner, for contexts where instructors author before publication. */
export async function enqueueCreated(
  tx: Tx,
  course: { courseId: string; instructorId: string; createdAt: Date },
  options: EnqueueOptions,
): Promise<void> {
  const { courseId, instructorId, createdAt } = course;
  await enqueueEvent(
    tx,
    CONTEXT,
    CourseEvents.created,
    { courseId, instructorId, createdAt: createdAt.toISOString() },
    options,
  );
}

export async function enqueueArchived(
  tx: Tx,
  courseId: string,
  archivedAt: Date,
  options: EnqueueOptions,
): Promise<void> {
  await enqueueEvent(tx, CONTEXT, CourseEvents.archived, { courseId, archivedAt: archivedAt.toISOString() }, options);
}
