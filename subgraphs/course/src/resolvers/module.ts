import { isUuid } from '@coursegraph/service-kit';
import type { ModuleResolvers } from '../generated/resolvers-types.js';

export const Module: ModuleResolvers = {
  // By id, a module is the one learners see: as published (null when it never was).
  __resolveReference: (ref, ctx) => (isUuid(ref.id) ? ctx.loaders.publishedModule.load(ref.id) : null),
  course: async (m, _args, ctx) => {
    const view = await ctx.loaders.course.load(m.courseId);
    if (!view) throw new Error(`module ${m.id} without course`);
    return view;
  },
  lessonCount: (m) => m.lessons.length,
};
