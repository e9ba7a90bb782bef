import { isUuid } from '@coursegraph/service-kit';
import type { LessonResolvers } from '../generated/resolvers-types.js';

export const Lesson: LessonResolvers = {
  // By id, a lesson is the one learners see: as published (null when it never was).
  __resolveReference: (ref, ctx) => (isUuid(ref.id) ? ctx.loaders.publishedLesson.load(ref.id) : null),
  course: async (l, _args, ctx) => {
    const view = await ctx.loaders.course.load(l.courseId);
    if (!view) throw new Error(`lesson ${l.id} without course`);
    return view;
  },
  module: (l) => l.module,
};
