/**
 * AI's view of the course context (stream COURSE): who owns each course, what it is about (the tutor
 * stays on its subject), which lessons are free previews, and each published lesson's text cut into
 * passages for retrieval. A publication re-cuts only lessons whose text changed, and bumps the
 * course's passages version so every process's retrieval index reloads the course.
 */
import { createHash } from 'node:crypto';
import { CourseEvents, course as pb } from '@coursegraph/contracts';
import { on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { replaceLessonPassages } from '../data/passages.js';
import { chunkLesson } from '../domain/retrieval/chunk.js';

const KINDS: Record<pb.LessonKind, 'VIDEO' | 'ARTICLE' | 'QUIZ' | null> = {
  [pb.LessonKind.UNSPECIFIED]: null,
  [pb.LessonKind.VIDEO]: 'VIDEO',
  [pb.LessonKind.ARTICLE]: 'ARTICLE',
  [pb.LessonKind.QUIZ]: 'QUIZ',
};

export const textHash = (text: string): string =>
  text.trim() === '' ? '' : createHash('sha256').update(text).digest('hex');

/** What the course is about, in words the tutor's topic check can use. */
const subjectOf = (s: pb.CourseSnapshot): string => [s.title, s.category, ...s.tags].filter(Boolean).join(', ');

async function applyPublication(tx: Tx, type: string, snapshot: pb.CourseSnapshot | undefined): Promise<void> {
  if (!snapshot) throw new Error(`${type} without a course snapshot`);
  const { courseId, instructorId, version } = snapshot;
  requireIds(type, { courseId, instructorId });
  const free = (snapshot.price?.amountMinor ?? 0n) === 0n;
  // Lock the course's row: publications of one course apply one at a time, an older one never wins.
  await tx.$executeRaw`
    insert into courses (id, instructor_id, published_version, updated_at)
    values (${courseId}::uuid, ${instructorId}::uuid, 0, now())
    on conflict (id) do nothing`;
  const [current] = await tx.$queryRaw<{ published_version: number }[]>`
    select published_version from courses where id = ${courseId}::uuid for update`;
  if (current && current.published_version >= version) return;

  const known = new Map(
    (await tx.courseLesson.findMany({ where: { courseId }, select: { id: true, textHash: true } })).map((l) => [
      l.id,
      l.textHash,
    ]),
  );
  const lessons = snapshot.lessons.flatMap((l) => {
    const kind = KINDS[l.kind];
    if (!kind) return [];
    requireIds(type, { lessonId: l.lessonId });
    return [{ lesson: l, kind, hash: textHash(l.bodyText) }];
  });
  let passagesChanged = false;
  for (const { lesson, hash } of lessons) {
    if (known.get(lesson.lessonId) === hash) continue;
    const passages = hash === '' ? [] : chunkLesson({ courseId, lessonId: lesson.lessonId, text: lesson.bodyText });
    await replaceLessonPassages(tx, lesson.lessonId, 'LESSON', passages);
    passagesChanged = true;
  }
  const kept = new Set(lessons.map((l) => l.lesson.lessonId));
  const removed = [...known.keys()].filter((id) => !kept.has(id));
  if (removed.length > 0) {
    await tx.passage.deleteMany({ where: { lessonId: { in: removed } } });
    passagesChanged = true;
  }
  await tx.courseLesson.deleteMany({ where: { courseId } });
  await tx.courseLesson.createMany({
    data: lessons.map(({ lesson, kind, hash }) => ({
      id: lesson.lessonId,
      courseId,
      version,
      kind,
      title: lesson.title,
      position: lesson.position,
      freePreview: lesson.freePreview,
      textHash: hash,
    })),
  });
  await tx.course.update({
    where: { id: courseId },
    data: {
      instructorId,
      title: snapshot.title,
      subject: subjectOf(snapshot),
      language: snapshot.language || 'en',
      free,
      publishedVersion: version,
      ...(passagesChanged ? { passagesVersion: { increment: 1 } } : {}),
    },
  });
}

export const courseHandlers = [
  on(CourseEvents.created, async (tx: Tx, e: ReceivedEvent<typeof CourseEvents.created>) => {
    const { courseId, instructorId } = e.payload;
    requireIds(e.type, { courseId, instructorId });
    await tx.$executeRaw`
      insert into courses (id, instructor_id, published_version, updated_at)
      values (${courseId}::uuid, ${instructorId}::uuid, 0, now())
      on conflict (id) do nothing`;
  }),
  on(CourseEvents.published, (tx: Tx, e: ReceivedEvent<typeof CourseEvents.published>) =>
    applyPublication(tx, e.type, e.payload.course),
  ),
  on(CourseEvents.updated, (tx: Tx, e: ReceivedEvent<typeof CourseEvents.updated>) =>
    applyPublication(tx, e.type, e.payload.course),
  ),
];

/** Before a replay rebuilds the projection: lessons and their text passages are rebuilt from the snapshots. */
export async function resetCourseProjection(tx: Tx): Promise<void> {
  await tx.courseLesson.deleteMany({});
  await tx.passage.deleteMany({ where: { source: 'LESSON' } });
  await tx.$executeRaw`update courses set published_version = 0, passages_version = passages_version + 1`;
}
