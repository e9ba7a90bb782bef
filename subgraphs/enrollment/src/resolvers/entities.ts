import { forbidden, isUuid, requireViewer } from '@coursegraph/service-kit';
import type {
  CertificateResolvers,
  CourseResolvers,
  EnrollmentResolvers,
  UserResolvers,
} from '../generated/resolvers-types.js';
import { enrollmentsOf } from './connection.js';

export const Enrollment: EnrollmentResolvers = {
  __resolveReference: async (ref, ctx) => {
    const enrollment = await ctx.loaders.enrollment.load(ref.id);
    // Enrollments are personal: the learner themself or an admin.
    if (enrollment && ctx.viewer?.userId !== enrollment.userId && ctx.viewer?.role !== 'ADMIN') return null;
    return enrollment;
  },
  user: (e) => ({ id: e.userId }),
  course: (e) => ({ id: e.courseId }),
  progress: async (e, _args, ctx) => {
    const [done, required] = await Promise.all([
      ctx.loaders.completedLessons.load(e.id),
      ctx.loaders.requiredLessons.load(e.courseId),
    ]);
    const doneSet = new Set(done);
    const completedRequired = required.filter((id) => doneSet.has(id)).length;
    return {
      completedLessonIds: done,
      completedRequired,
      requiredTotal: required.length,
      percent: required.length === 0 ? 0 : Math.floor((completedRequired * 100) / required.length),
    };
  },
  certificate: (e, _args, ctx) => ctx.loaders.certificate.load(e.id),
};

export const Certificate: CertificateResolvers = {
  holder: (c) => ({ id: c.userId }),
  course: (c) => ({ id: c.courseId }),
  revoked: (c) => c.revokedAt !== null,
};

export const User: UserResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  enrollments: (user, { first, after }, ctx) => {
    const viewer = requireViewer(ctx);
    if (viewer.userId !== user.id && viewer.role !== 'ADMIN')
      throw forbidden("Only the learner and admins see a learner's enrollments.");
    return enrollmentsOf(ctx.db, ctx.sql, user.id, first, after);
  },
};

export const Course: CourseResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  // A malformed id is no course: answered before SQL, so it cannot fail the batch it came in.
  enrollmentCount: (course, _args, ctx) => (isUuid(course.id) ? ctx.loaders.enrollmentCount.load(course.id) : 0),
  viewerEnrollment: (course, _args, ctx) => (isUuid(course.id) ? ctx.loaders.viewerEnrollment.load(course.id) : null),
};
