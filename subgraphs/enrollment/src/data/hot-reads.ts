/**
 * Enrollment's hot reads in plain SQL (DB_HOT_READS=sql, the kit's sql-reads.ts): what every catalog
 * page (enrolment counts) and dashboard (a learner's enrolments and their progress) runs. Each
 * returns exactly what its Prisma twin beside it returns (data/loaders.ts, resolvers/connection.ts);
 * test/hot-reads.test.ts runs both on the same rows. Columns as prisma/enrollment/schema.prisma maps them.
 */
import { preparedRead, type SqlReads } from '@coursegraph/service-kit';
import type { Enrollment } from '../generated/prisma/client.js';

const ENROLLMENT_COLUMNS = `id::text, user_id::text as "userId", course_id::text as "courseId", mode, status,
  order_id::text as "orderId", enrolled_at as "enrolledAt", completed_at as "completedAt",
  revoked_at as "revokedAt", revoke_reason as "revokeReason"`;

const COUNTS = preparedRead<{ courseId: string; n: number }>(
  'enrollment.counts_by_course',
  `select course_id::text as "courseId", count(*)::int as n
     from enrollment.enrollments
    where course_id = any($1::uuid[]) and status <> 'REVOKED'
    group by course_id`,
);

/** Learners with access (active or completed) per course; courses with none are absent. */
export async function enrollmentCounts(sql: SqlReads, courseIds: readonly string[]): Promise<Map<string, number>> {
  return new Map((await sql.rows(COUNTS, [courseIds])).map((r) => [r.courseId, r.n]));
}

const OF_USER = preparedRead<Enrollment>(
  'enrollment.of_user',
  `select ${ENROLLMENT_COLUMNS}
     from enrollment.enrollments
    where user_id = $1::uuid and ($2::uuid is null or id < $2)
    order by id desc
    limit $3`,
);
const COUNT_OF_USER = preparedRead<{ n: number }>(
  'enrollment.count_of_user',
  `select count(*)::int as n from enrollment.enrollments where user_id = $1::uuid`,
);

/** A user's enrolments newest first, before `beforeId` when given, at most `limit`; and how many they have. */
export async function enrollmentsOfUser(
  sql: SqlReads,
  userId: string,
  beforeId: string | null,
  limit: number,
): Promise<[Enrollment[], number]> {
  const [rows, count] = await Promise.all([
    sql.rows(OF_USER, [userId, beforeId, limit]),
    sql.rows(COUNT_OF_USER, [userId]),
  ]);
  return [rows, count[0]!.n];
}

const COMPLETED = preparedRead<{ enrollment_id: string; lesson_id: string }>(
  'enrollment.completed_lessons',
  // Joined through the enrollment's user, so lesson_progress is read by its primary key.
  `select lp.enrollment_id::text, lp.lesson_id::text
     from enrollment.enrollments e
     join enrollment.lesson_progress lp on lp.user_id = e.user_id and lp.enrollment_id = e.id
    where e.id = any($1::uuid[])
    order by lp.completed_at, lp.lesson_id`,
);

export const completedLessonRows = (sql: SqlReads, enrollmentIds: readonly string[]) =>
  sql.rows(COMPLETED, [enrollmentIds]);

const REQUIRED = preparedRead<{ courseId: string; requiredLessonIds: string[] }>(
  'enrollment.required_lessons',
  `select course_id::text as "courseId", required_lesson_ids::text[] as "requiredLessonIds"
     from enrollment.course_projections
    where course_id = any($1::uuid[])`,
);

export const requiredLessonRows = (sql: SqlReads, courseIds: readonly string[]) => sql.rows(REQUIRED, [courseIds]);
