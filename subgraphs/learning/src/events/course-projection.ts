/**
 * Learning's view of the course context (stream COURSE): who owns each course (so its instructors
 * can author items before the first publication), and each publication, which freezes the drafts of
 * the course's item bank, quizzes and notes as that version. Learners are always served the latest
 * published version; their attempts stay pinned to the version they started on.
 */
import { CourseEvents, LearningEvents, course as pb } from '@coursegraph/contracts';
import { enqueueEvent, on, requireIds, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { addCourseCards } from '../data/deck.js';
import { recomputeGrades } from '../data/grades.js';

const CONTEXT = 'learning';

const KINDS: Record<pb.LessonKind, 'VIDEO' | 'ARTICLE' | 'QUIZ' | null> = {
  [pb.LessonKind.UNSPECIFIED]: null,
  [pb.LessonKind.VIDEO]: 'VIDEO',
  [pb.LessonKind.ARTICLE]: 'ARTICLE',
  [pb.LessonKind.QUIZ]: 'QUIZ',
};

async function applyPublication(
  tx: Tx,
  type: string,
  snapshot: pb.CourseSnapshot | undefined,
  traceparent: string,
): Promise<void> {
  if (!snapshot) throw new Error(`${type} without a course snapshot`);
  const { courseId, instructorId, version } = snapshot;
  requireIds(type, { courseId, instructorId });
  const free = (snapshot.price?.amountMinor ?? 0n) === 0n;
  // Lock the course's row: publications of one course apply one at a time, and an older one never
  // replaces a newer one.
  await tx.$executeRaw`
    insert into courses (id, instructor_id, title, free, published_version, updated_at)
    values (${courseId}::uuid, ${instructorId}::uuid, ${snapshot.title}, ${free}, 0, now())
    on conflict (id) do nothing`;
  const [current] = await tx.$queryRaw<{ published_version: number }[]>`
    select published_version from courses where id = ${courseId}::uuid for update`;
  if (current && current.published_version >= version) return;
  const firstPublication = !current || current.published_version === 0;
  await tx.course.update({
    where: { id: courseId },
    data: { instructorId, title: snapshot.title, free, publishedVersion: version },
  });

  await tx.courseLesson.deleteMany({ where: { courseId } });
  const lessons = snapshot.lessons.flatMap((l) => {
    const kind = KINDS[l.kind];
    if (!kind) return [];
    requireIds(type, { lessonId: l.lessonId });
    return [
      {
        id: l.lessonId,
        courseId,
        version,
        kind,
        title: l.title,
        position: l.position,
        required: l.required,
        freePreview: l.freePreview,
      },
    ];
  });
  await tx.courseLesson.createMany({ data: lessons });

  // The drafts as they are now become this version (a redelivery finds the rows and adds nothing).
  await tx.$executeRaw`
    insert into published_items (item_id, version, course_id, type, content, tags, concept_ids)
    select id, ${version}, course_id, type, content, tags, concept_ids
      from items where course_id = ${courseId}::uuid and deleted_at is null
    on conflict do nothing`;
  await tx.$executeRaw`
    insert into published_quizzes
           (lesson_id, version, course_id, draw, time_limit_seconds, max_attempts, grading_policy, pass_score,
            completion_requires_pass)
    select q.lesson_id, ${version}, q.course_id, q.draw, q.time_limit_seconds, q.max_attempts, q.grading_policy,
           q.pass_score, q.completion_requires_pass
      from quizzes q join course_lessons l on l.id = q.lesson_id and l.course_id = q.course_id and l.kind = 'QUIZ'
     where q.course_id = ${courseId}::uuid
    on conflict do nothing`;
  await announceQuizzes(tx, courseId, version, traceparent);
  // Enrolments can be applied before the publication they follow (two streams, no order between
  // them): learners already enrolled get their cards when learning first sees the course published.
  if (firstPublication) await fillWaitingDecks(tx, courseId, new Date(snapshot.publishedAt || Date.now()));
  await tx.$executeRaw`
    insert into published_notes (note_id, version, course_id, kind, front, back, text, concept_ids)
    select id, ${version}, course_id, kind, front, back, text, concept_ids
      from notes where course_id = ${courseId}::uuid and deleted_at is null
    on conflict do nothing`;
}

async function fillWaitingDecks(tx: Tx, courseId: string, at: Date): Promise<void> {
  const enrolled = await tx.enrolment.findMany({ where: { courseId, active: true }, select: { userId: true } });
  for (const { userId } of enrolled) await addCourseCards(tx, userId, courseId, at);
}

/**
 * Tells enrollment how each published quiz counts toward completion, and regrades every learner of
 * a quiz whose grading policy or pass mark changed since the previous version.
 */
async function announceQuizzes(tx: Tx, courseId: string, version: number, traceparent: string): Promise<void> {
  const quizzes = await tx.publishedQuiz.findMany({ where: { courseId, version } });
  for (const quiz of quizzes) {
    const previous = await tx.publishedQuiz.findFirst({
      where: { lessonId: quiz.lessonId, version: { lt: version } },
      orderBy: { version: 'desc' },
    });
    if (previous && (previous.gradingPolicy !== quiz.gradingPolicy || previous.passScore !== quiz.passScore))
      await recomputeGrades(tx, quiz.lessonId, quiz.gradingPolicy, quiz.passScore);
    await enqueueEvent(
      tx,
      CONTEXT,
      LearningEvents.quizPublished,
      {
        courseId,
        lessonId: quiz.lessonId,
        courseVersion: version,
        passScore: quiz.passScore,
        completionRequiresPass: quiz.completionRequiresPass,
      },
      { traceparent },
    );
  }
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
    applyPublication(tx, e.type, e.payload.course, e.traceparent),
  ),
  on(CourseEvents.updated, (tx: Tx, e: ReceivedEvent<typeof CourseEvents.updated>) =>
    applyPublication(tx, e.type, e.payload.course, e.traceparent),
  ),
];

/** Before a replay rebuilds the projection. Published snapshots stay: attempts refer to them. */
export async function resetCourseProjection(tx: Tx): Promise<void> {
  await tx.courseLesson.deleteMany({});
  await tx.$executeRaw`update courses set published_version = 0`;
}
