/**
 * Enrollment's use cases. Learners enrol directly in free courses (or audit any course); paid access
 * arrives as a payment event (the purchase saga). Completing every required lesson completes the
 * course and, except for audits, issues a certificate. Every state change writes its event to the
 * outbox in the same transaction.
 *
 * AUDIT on a paid course is a free enrolment without a certificate: the outline, the free previews
 * and progress tracking. It is not an entitlement: the course context, from these events, serves
 * paid lessons' bodies only to FREE and PAID enrolments. Paying later makes the same enrolment PAID.
 *
 * A lesson is completed by the learner marking it done or, for a quiz lesson, by passing its quiz
 * (learning.quiz.passed). Both go through `recordLessons`. A quiz lesson whose quiz must be passed
 * (enrollment's projection of learning.quiz.published) cannot be marked done by hand.
 */
import { EnrollmentEvents, enrollment as contract } from '@coursegraph/contracts';
import {
  badInput,
  conflict,
  enqueueEvent,
  isUuid,
  newId,
  notFound,
  type Viewer,
  isUniqueViolation,
} from '@coursegraph/service-kit';
import type { CourseProjection, Enrollment, EnrollmentMode, PrismaClient } from '../generated/prisma/client.js';
import { type Tx } from '../data/db.js';
import { issueCertificate, revokeCertificates } from './certificates.js';

const CONTEXT = 'enrollment';

const MODE_TO_EVENT: Record<EnrollmentMode, contract.EnrollmentMode> = {
  FREE: contract.EnrollmentMode.FREE,
  AUDIT: contract.EnrollmentMode.AUDIT,
  PAID: contract.EnrollmentMode.PAID,
};

function requireUuid(value: string, field: string): void {
  if (!isUuid(value)) throw badInput(`"${field}" must be an id.`, field);
}

/** Prerequisites of `course` that `userId` has not completed. */
async function missingPrerequisites(tx: Tx, userId: string, course: CourseProjection): Promise<string[]> {
  if (course.prerequisiteCourseIds.length === 0) return [];
  const done = await tx.enrollment.findMany({
    where: { userId, courseId: { in: course.prerequisiteCourseIds }, status: 'COMPLETED' },
    select: { courseId: true },
  });
  const completed = new Set(done.map((e) => e.courseId));
  return course.prerequisiteCourseIds.filter((id) => !completed.has(id));
}

async function announceCreated(tx: Tx, e: Enrollment, traceparent?: string): Promise<void> {
  await enqueueEvent(
    tx,
    CONTEXT,
    EnrollmentEvents.created,
    {
      enrollmentId: e.id,
      userId: e.userId,
      courseId: e.courseId,
      mode: MODE_TO_EVENT[e.mode],
      orderId: e.orderId ?? '',
      enrolledAt: e.enrolledAt.toISOString(),
    },
    { traceparent },
  );
}

export class Enrollments {
  constructor(private readonly db: PrismaClient) {}

  /** `traceparent`: the request's trace, carried into the events (a new trace when absent). */
  async enrol(viewer: Viewer, courseId: string, mode: EnrollmentMode, traceparent?: string): Promise<Enrollment> {
    requireUuid(courseId, 'courseId');
    if (mode === 'PAID') throw badInput('Paid access comes from checkout; enrol with FREE or AUDIT.', 'mode');
    try {
      return await this.db.$transaction(async (tx) => {
        const course = await tx.courseProjection.findUnique({ where: { courseId } });
        if (!course || course.state !== 'PUBLISHED') throw notFound(`No published course with id ${courseId}.`);
        if (mode === 'FREE' && !course.isFree)
          throw badInput('This course is paid: check out to enrol, or audit it.', 'mode');
        const missing = await missingPrerequisites(tx, viewer.userId, course);
        if (missing.length > 0)
          throw badInput(`Complete the prerequisite courses first: ${missing.join(', ')}.`, 'courseId');
        const existing = await tx.enrollment.findUnique({
          where: { userId_courseId: { userId: viewer.userId, courseId } },
        });
        if (existing && existing.status !== 'REVOKED')
          throw conflict('You are already enrolled in this course.', 'courseId');
        const enrollment = existing
          ? await tx.enrollment.update({
              where: { id: existing.id },
              data: {
                mode,
                status: 'ACTIVE',
                orderId: null,
                enrolledAt: new Date(),
                revokedAt: null,
                revokeReason: null,
                completedAt: null,
              },
            })
          : await tx.enrollment.create({ data: { id: newId(), userId: viewer.userId, courseId, mode } });
        await announceCreated(tx, enrollment, traceparent);
        return enrollment;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('You are already enrolled in this course.', 'courseId');
      throw err;
    }
  }

  completeLesson(viewer: Viewer, courseId: string, lessonId: string, traceparent?: string): Promise<Enrollment> {
    return this.completeLessons(viewer, courseId, [lessonId], traceparent);
  }

  /**
   * Marks lessons done in one transaction; completing every required lesson completes the course.
   * Refused, changing nothing, when a lesson's quiz must be passed to complete it.
   */
  async completeLessons(
    viewer: Viewer,
    courseId: string,
    lessonIds: string[],
    traceparent?: string,
  ): Promise<Enrollment> {
    requireUuid(courseId, 'courseId');
    for (const lessonId of lessonIds) requireUuid(lessonId, 'lessonId');
    return this.db.$transaction(async (tx) => {
      const enrollment = await tx.enrollment.findUnique({
        where: { userId_courseId: { userId: viewer.userId, courseId } },
      });
      if (!enrollment || enrollment.status === 'REVOKED')
        throw badInput('You are not enrolled in this course.', 'courseId');
      const course = await tx.courseProjection.findUniqueOrThrow({ where: { courseId } });
      if (!lessonIds.every((id) => course.lessonIds.includes(id)))
        throw badInput('This lesson is not part of the course.', 'lessonId');
      const gated = await tx.quizRequirement.count({
        where: { lessonId: { in: lessonIds }, completionRequiresPass: true },
      });
      if (gated > 0) throw badInput('Pass the quiz of this lesson to complete it.', 'lessonId');
      return (await recordLessons(tx, enrollment, course, lessonIds, traceparent)).enrollment;
    });
  }

  async unenrol(viewer: Viewer, courseId: string, traceparent?: string): Promise<Enrollment> {
    requireUuid(courseId, 'courseId');
    return this.db.$transaction(async (tx) => {
      const enrollment = await tx.enrollment.findUnique({
        where: { userId_courseId: { userId: viewer.userId, courseId } },
      });
      if (!enrollment || enrollment.status === 'REVOKED')
        throw badInput('You are not enrolled in this course.', 'courseId');
      return revoke(tx, enrollment, 'UNENROLLED', traceparent);
    });
  }
}

/**
 * The one path by which lessons become done, whoever asks (the learner, or a quiz pass): a progress
 * row per lesson, `enrollment.lesson.completed` for each row that is new (so a lesson marked again,
 * or a pass redelivered, announces nothing), then the course's completion when every required lesson
 * is done. A completed enrolment still records lessons but completes nothing twice. Returns the
 * enrolment as it now stands and how many of the lessons were newly done.
 */
async function recordLessons(
  tx: Tx,
  enrollment: Enrollment,
  course: CourseProjection,
  lessonIds: string[],
  traceparent?: string,
): Promise<{ enrollment: Enrollment; newlyDone: number }> {
  // ON CONFLICT DO NOTHING ... RETURNING: only rows this transaction inserted, so of two concurrent
  // completions of one lesson exactly one announces it.
  const created = await tx.lessonProgress.createManyAndReturn({
    data: lessonIds.map((lessonId) => ({ userId: enrollment.userId, enrollmentId: enrollment.id, lessonId })),
    skipDuplicates: true,
  });
  for (const row of created)
    await enqueueEvent(
      tx,
      CONTEXT,
      EnrollmentEvents.lessonCompleted,
      {
        enrollmentId: enrollment.id,
        userId: enrollment.userId,
        courseId: enrollment.courseId,
        lessonId: row.lessonId,
        completedAt: row.completedAt.toISOString(),
      },
      { traceparent },
    );
  const newlyDone = created.length;
  if (enrollment.status !== 'ACTIVE') return { enrollment, newlyDone };
  const done = await tx.lessonProgress.findMany({
    where: { userId: enrollment.userId, enrollmentId: enrollment.id },
    select: { lessonId: true },
  });
  const doneIds = new Set(done.map((d) => d.lessonId));
  if (!course.requiredLessonIds.every((id) => doneIds.has(id))) return { enrollment, newlyDone };
  return { enrollment: await complete(tx, enrollment, course, traceparent), newlyDone };
}

/** What a quiz pass did: completed the lesson, found it done already, or found nothing to complete. */
export type QuizPassOutcome = 'completed' | 'already' | 'not-enrolled' | 'not-in-course';

/**
 * A learner passed a quiz (learning.quiz.passed): the quiz lesson is done for their enrolment in
 * that course, exactly as if they had marked it (progress, lesson and course events, certificate).
 * Runs inside the consumer's transaction. A learner with no enrolment, or a revoked one, gets
 * nothing: passing a quiz is not enrolling.
 */
export async function completeLessonByQuizPass(
  tx: Tx,
  pass: { userId: string; courseId: string; lessonId: string },
  traceparent: string,
): Promise<QuizPassOutcome> {
  const enrollment = await tx.enrollment.findUnique({
    where: { userId_courseId: { userId: pass.userId, courseId: pass.courseId } },
  });
  if (!enrollment || enrollment.status === 'REVOKED') return 'not-enrolled';
  const course = await tx.courseProjection.findUnique({ where: { courseId: pass.courseId } });
  // Course events may lag learning's: fail, so the consumer retries after its backoff.
  if (!course) throw new Error(`course ${pass.courseId} not yet known to enrollment`);
  if (!course.lessonIds.includes(pass.lessonId)) {
    const quiz = await tx.quizRequirement.findUnique({ where: { lessonId: pass.lessonId } });
    // The quiz was published with a course version enrollment has not seen yet: wait for it.
    if (quiz && quiz.courseId === pass.courseId && quiz.courseVersion > course.version)
      throw new Error(`course ${pass.courseId} version ${quiz.courseVersion} not yet known to enrollment`);
    return 'not-in-course';
  }
  const { newlyDone } = await recordLessons(tx, enrollment, course, [pass.lessonId], traceparent);
  return newlyDone > 0 ? 'completed' : 'already';
}

/**
 * Completes once: of two concurrent last lessons, one conditional update wins. A FREE or PAID
 * enrolment gets its certificate (unless it still holds one from an earlier completion).
 */
async function complete(
  tx: Tx,
  enrollment: Enrollment,
  course: CourseProjection,
  traceparent?: string,
): Promise<Enrollment> {
  const completedAt = new Date();
  const { count } = await tx.enrollment.updateMany({
    where: { id: enrollment.id, status: 'ACTIVE' },
    data: { status: 'COMPLETED', completedAt },
  });
  const current = await tx.enrollment.findUniqueOrThrow({ where: { id: enrollment.id } });
  if (count === 0) return current;
  await enqueueEvent(
    tx,
    CONTEXT,
    EnrollmentEvents.courseCompleted,
    {
      enrollmentId: enrollment.id,
      userId: enrollment.userId,
      courseId: enrollment.courseId,
      completedAt: completedAt.toISOString(),
    },
    { traceparent },
  );
  await issueCertificate(tx, current, course.title, traceparent);
  return current;
}

/**
 * Ends an enrolment. A full refund also revokes its certificate: the learner got their money back,
 * so the proof no longer stands. Unenrolling does not: a learner who completed a course and then
 * leaves it keeps their proof.
 */
async function revoke(
  tx: Tx,
  enrollment: Enrollment,
  reason: 'REFUNDED' | 'UNENROLLED',
  traceparent?: string,
): Promise<Enrollment> {
  const revokedAt = new Date();
  const revoked = await tx.enrollment.update({
    where: { id: enrollment.id },
    data: { status: 'REVOKED', revokedAt, revokeReason: reason },
  });
  await enqueueEvent(
    tx,
    CONTEXT,
    EnrollmentEvents.revoked,
    {
      enrollmentId: enrollment.id,
      userId: enrollment.userId,
      courseId: enrollment.courseId,
      reason,
      revokedAt: revokedAt.toISOString(),
    },
    { traceparent },
  );
  if (reason === 'REFUNDED') await revokeCertificates(tx, enrollment, 'REFUNDED', revokedAt, traceparent);
  return revoked;
}

/**
 * The saga step after a successful payment: grant PAID access, or reject the order (payment then
 * refunds it) when a prerequisite is missing. Runs inside the consumer's transaction.
 */
export async function grantPaidAccess(
  tx: Tx,
  paid: { orderId: string; userId: string; courseId: string },
  traceparent: string,
): Promise<'enrolled' | 'rejected' | 'already'> {
  const course = await tx.courseProjection.findUnique({ where: { courseId: paid.courseId } });
  // Course events may lag payment events: fail, so the consumer retries after its backoff.
  if (!course) throw new Error(`course ${paid.courseId} not yet known to enrollment`);
  const existing = await tx.enrollment.findUnique({
    where: { userId_courseId: { userId: paid.userId, courseId: paid.courseId } },
  });
  if (existing && existing.mode === 'PAID' && existing.status !== 'REVOKED') return 'already';
  const missing = await missingPrerequisites(tx, paid.userId, course);
  if (missing.length > 0) {
    await enqueueEvent(
      tx,
      CONTEXT,
      EnrollmentEvents.rejected,
      {
        orderId: paid.orderId,
        userId: paid.userId,
        courseId: paid.courseId,
        reason: `PREREQUISITES_MISSING: ${missing.join(',')}`,
      },
      { traceparent },
    );
    return 'rejected';
  }
  const enrollment = existing
    ? await tx.enrollment.update({
        where: { id: existing.id },
        // An audit or free learner who pays keeps their progress; a revoked one starts a new access
        // (its lessons done still count, its earlier completion does not).
        data: {
          mode: 'PAID',
          orderId: paid.orderId,
          status: existing.status === 'COMPLETED' ? 'COMPLETED' : 'ACTIVE',
          revokedAt: null,
          revokeReason: null,
          ...(existing.status === 'REVOKED' ? { completedAt: null } : {}),
        },
      })
    : await tx.enrollment.create({
        data: { id: newId(), userId: paid.userId, courseId: paid.courseId, mode: 'PAID', orderId: paid.orderId },
      });
  await announceCreated(tx, enrollment, traceparent);
  if (existing) await settleCompletion(tx, enrollment, course, traceparent);
  return 'enrolled';
}

/**
 * After an existing enrolment becomes PAID: an audit completed before paying gets its certificate,
 * and a learner buying again after a refund, whose lessons are all still done, completes at once
 * with a new certificate (the revoked one stays revoked).
 */
async function settleCompletion(
  tx: Tx,
  enrollment: Enrollment,
  course: CourseProjection,
  traceparent: string,
): Promise<void> {
  if (enrollment.status === 'COMPLETED') {
    await issueCertificate(tx, enrollment, course.title, traceparent);
    return;
  }
  const done = await tx.lessonProgress.findMany({
    where: { userId: enrollment.userId, enrollmentId: enrollment.id },
    select: { lessonId: true },
  });
  const doneIds = new Set(done.map((d) => d.lessonId));
  // A course without lessons is never completed by paying for it.
  if (course.requiredLessonIds.length > 0 && course.requiredLessonIds.every((id) => doneIds.has(id)))
    await complete(tx, enrollment, course, traceparent);
}

/** A full refund ends the access that order bought, and revokes the certificate earned with it. */
export async function revokeRefundedAccess(
  tx: Tx,
  refund: { orderId: string; userId: string },
  traceparent: string,
): Promise<boolean> {
  const enrollment = await tx.enrollment.findFirst({
    where: { userId: refund.userId, orderId: refund.orderId, status: { not: 'REVOKED' } },
  });
  if (!enrollment) return false;
  await revoke(tx, enrollment, 'REFUNDED', traceparent);
  return true;
}
