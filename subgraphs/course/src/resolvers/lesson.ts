import { isUuid } from '@coursegraph/service-kit';
import type { Context } from '../context.js';
import type { LessonNode } from '../domain/content.js';
import { mayReadBody } from '../domain/lesson-access.js';
import type { LessonResolvers } from '../generated/resolvers-types.js';

async function bodyIsOpen(l: LessonNode, ctx: Context): Promise<boolean> {
  const course = await ctx.loaders.course.load(l.courseId);
  if (!course) throw new Error(`lesson ${l.id} without course`);
  return mayReadBody({
    viewer: ctx.viewer,
    course,
    freePreview: l.freePreview,
    entitled: () => ctx.loaders.entitled.load(l.courseId),
  });
}

export const Lesson: LessonResolvers = {
  // By id, a lesson is the one learners see: as published (null when it never was). Its outline
  // is public; its body is not (see `body`).
  __resolveReference: (ref, ctx) => (isUuid(ref.id) ? ctx.loaders.publishedLesson.load(ref.id) : null),
  course: async (l, _args, ctx) => {
    const view = await ctx.loaders.course.load(l.courseId);
    if (!view) throw new Error(`lesson ${l.id} without course`);
    return view;
  },
  module: (l) => l.module,
  body: async (l, _args, ctx) => ((await bodyIsOpen(l, ctx)) ? l.body : null),
  locked: async (l, _args, ctx) => !(await bodyIsOpen(l, ctx)),
};
