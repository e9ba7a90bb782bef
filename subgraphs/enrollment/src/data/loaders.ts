/** Per-request DataLoaders: every load by key is batched, so a list costs a constant number of queries. */
import DataLoader from 'dataloader';
import type { Certificate, Enrollment, PrismaClient } from '../generated/prisma/client.js';

export function createLoaders(db: PrismaClient, viewerId: string | null) {
  return {
    enrollment: new DataLoader<string, Enrollment | null>(async (ids) => {
      const rows = await db.enrollment.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Learners with access per course (active or completed). */
    enrollmentCount: new DataLoader<string, number>(async (courseIds) => {
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
    completedLessons: new DataLoader<string, string[]>(async (enrollmentIds) => {
      const rows = await db.lessonProgress.findMany({ where: { enrollmentId: { in: [...enrollmentIds] } }, select: { enrollmentId: true, lessonId: true } });
      const byEnrollment = new Map<string, string[]>();
      for (const r of rows) byEnrollment.set(r.enrollmentId, [...(byEnrollment.get(r.enrollmentId) ?? []), r.lessonId]);
      return enrollmentIds.map((id) => byEnrollment.get(id) ?? []);
    }),
    requiredLessons: new DataLoader<string, string[]>(async (courseIds) => {
      const rows = await db.courseProjection.findMany({ where: { courseId: { in: [...courseIds] } }, select: { courseId: true, requiredLessonIds: true } });
      const byCourse = new Map(rows.map((r) => [r.courseId, r.requiredLessonIds]));
      return courseIds.map((id) => byCourse.get(id) ?? []);
    }),
    certificate: new DataLoader<string, Certificate | null>(async (enrollmentIds) => {
      const rows = await db.certificate.findMany({ where: { enrollmentId: { in: [...enrollmentIds] } } });
      const byEnrollment = new Map(rows.map((r) => [r.enrollmentId, r]));
      return enrollmentIds.map((id) => byEnrollment.get(id) ?? null);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
