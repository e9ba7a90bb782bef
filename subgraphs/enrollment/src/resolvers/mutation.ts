import { requireViewer } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';

export const Mutation: MutationResolvers = {
  enrol: (_parent, { courseId, mode }, ctx) =>
    ctx.enrollments.enrol(requireViewer(ctx), courseId, mode ?? 'FREE', ctx.traceparent),
  completeLesson: (_parent, { courseId, lessonId }, ctx) =>
    ctx.enrollments.completeLesson(requireViewer(ctx), courseId, lessonId, ctx.traceparent),
  unenrol: (_parent, { courseId }, ctx) => ctx.enrollments.unenrol(requireViewer(ctx), courseId, ctx.traceparent),
};
