/**
 * Enrollment follows learning's quizzes (stream LEARNING): which quiz lessons are completed only by
 * passing their quiz (a projection of learning.quiz.published, applied only when its course version
 * is newer), and passes, which complete the lesson through the same domain path as a learner
 * marking it done.
 */
import { LearningEvents, type learning } from '@coursegraph/contracts';
import { createLogger, on, requireIds, type Logger, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { completeLessonByQuizPass } from '../domain/enrollments.js';

let logger: Logger | undefined;
// Made on first use, at the service's LOG_LEVEL: handlers are built before the service's logger.
const log = (): Logger => (logger ??= createLogger('enrollment').child({ consumer: 'enrollment-learning' }));

/** Records a quiz lesson's requirement, unless enrollment already holds one from a newer (or the same) course version. */
export async function applyQuizPublished(tx: Tx, quiz: learning.QuizPublished): Promise<void> {
  requireIds(LearningEvents.quizPublished.subject, { courseId: quiz.courseId, lessonId: quiz.lessonId });
  if (quiz.passScore < 0 || quiz.passScore > 100)
    throw new Error(`${LearningEvents.quizPublished.subject} with pass_score ${quiz.passScore}, not a percent`);
  // One conditional upsert: an older or equal version (a redelivery, a replay, a late event) changes
  // nothing, and two versions applied at once cannot both win.
  await tx.$executeRaw`
    insert into "enrollment"."quiz_requirements"
      (lesson_id, course_id, course_version, pass_score, completion_requires_pass, updated_at)
    values (${quiz.lessonId}::uuid, ${quiz.courseId}::uuid, ${quiz.courseVersion},
            ${quiz.passScore}, ${quiz.completionRequiresPass}, now())
    on conflict (lesson_id) do update set
      course_id = excluded.course_id,
      course_version = excluded.course_version,
      pass_score = excluded.pass_score,
      completion_requires_pass = excluded.completion_requires_pass,
      updated_at = excluded.updated_at
    where "quiz_requirements".course_version < excluded.course_version`;
}

export const learningHandlers = [
  on(LearningEvents.quizPublished, (tx: Tx, e: ReceivedEvent<typeof LearningEvents.quizPublished>) =>
    applyQuizPublished(tx, e.payload),
  ),
  on(LearningEvents.quizPassed, async (tx: Tx, e: ReceivedEvent<typeof LearningEvents.quizPassed>) => {
    const { attemptId, userId, courseId, lessonId } = e.payload;
    requireIds(LearningEvents.quizPassed.subject, { userId, courseId, lessonId });
    const outcome = await completeLessonByQuizPass(tx, { userId, courseId, lessonId }, e.traceparent);
    if (outcome === 'not-enrolled' || outcome === 'not-in-course')
      log().info(
        { eventId: e.id, attemptId, userId, courseId, lessonId, outcome },
        'quiz passed without an active enrolment in a course holding the lesson; nothing to complete',
      );
  }),
];

/** Clears the quiz projection before a replay rebuilds it (passes replayed complete only lessons not yet done). */
export async function resetQuizRequirements(tx: Tx): Promise<void> {
  await tx.quizRequirement.deleteMany({});
}
