/** Per-request DataLoaders: every load by key is batched, so a list costs a constant number of queries. */
import DataLoader from 'dataloader';
import type { SqlReads } from '@coursegraph/service-kit';
import type { Certificate, Enrollment, PrismaClient } from '../generated/prisma/client.js';
import { currentCertificate } from '../domain/certificates.js';
import { completedLessonRows, enrollmentCounts, requiredLessonRows } from './hot-reads.js';

/** `sql`: the hot reads' plain SQL (hot-reads.ts), or null to read them through Prisma (DB_HOT_READS=prisma). */
export function createLoaders(db: PrismaClient, sql: SqlReads | null, viewerId: string | null) {
  return {
    enrollment: new DataLoader<string, Enrollment | null>(async (ids) => {
      const rows = await db.enrollment.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Learners with access per course (active or completed). */
    enrollmentCount: new DataLoader<string, number>(async (courseIds) => {
      if (sql) {
        const counts = await enrollmentCounts(sql, courseIds);
        return courseIds.map((id) => counts.get(id) ?? 0);
      }
      const groups = await db.enrollment.groupBy({
        by: ['courseId'],
        where: { courseId: { in: [...courseIds] }, status: { not: 'REVOKED' } },
        _count: { _all: true },
      });
      const byCourse = new Map(groups.map((g) => [g.courseId, g._count._all]));
      return courseIds.map((id) => byCourse.get(id) ?? 0);
    }),
    /** The viewer's enrollment per course. */
    viewerEnrollment: new DataLoader<string, Enrollment | null>(async (courseIds) => {
      if (!viewerId) return courseIds.map(() => null);
      const rows = await db.enrollment.findMany({ where: { userId: viewerId, courseId: { in: [...courseIds] } } });
      const byCourse = new Map(rows.map((r) => [r.courseId, r]));
      return courseIds.map((id) => byCourse.get(id) ?? null);
    }),
    /** Completed lesson ids per enrollment, in the order they were completed. */
    completedLessons: new DataLoader<string, string[]>(async (enrollmentIds) => {
      // Joined through the enrollment's user, so lesson_progress is read by its primary key
      // (user_id, enrollment_id, …) instead of scanned.
      const rows = sql
        ? await completedLessonRows(sql, enrollmentIds)
        : await db.$queryRaw<{ enrollment_id: string; lesson_id: string }[]>`
        select lp.enrollment_id::text, lp.lesson_id::text
        from enrollment.enrollments e
        join enrollment.lesson_progress lp on lp.user_id = e.user_id and lp.enrollment_id = e.id
        where e.id = any(${[...enrollmentIds]}::uuid[])
        order by lp.completed_at, lp.lesson_id`;
      const byEnrollment = new Map<string, string[]>();
      for (const r of rows) {
        const list = byEnrollment.get(r.enrollment_id);
        if (list) list.push(r.lesson_id);
        else byEnrollment.set(r.enrollment_id, [r.lesson_id]);
      }
      return enrollmentIds.map((id) => byEnrollment.get(id) ?? []);
    }),
    requiredLessons: new DataLoader<string, string[]>(async (courseIds) => {
      const rows = sql
        ? await requiredLessonRows(sql, courseIds)
        : await db.courseProjection.findMany({
            where: { courseId: { in: [...courseIds] } },
            select: { courseId: true, requiredLessonIds: true },
          });
      const byCourse = new Map(rows.map((r) => [r.courseId, r.requiredLessonIds]));
      return courseIds.map((id) => byCourse.get(id) ?? []);
    }),
    /** The certificate each enrollment shows: the one in force, else the one revoked last. */
    certificate: new DataLoader<string, Certificate | null>(async (enrollmentIds) => {
      const rows = await db.certificate.findMany({ where: { enrollmentId: { in: [...enrollmentIds] } } });
      const byEnrollment = new Map<string, Certificate[]>();
      for (const r of rows) byEnrollment.set(r.enrollmentId, [...(byEnrollment.get(r.enrollmentId) ?? []), r]);
      return enrollmentIds.map((id) => currentCertificate(byEnrollment.get(id) ?? []));
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
