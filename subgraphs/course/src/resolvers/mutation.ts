import { requireRole } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { Changed } from '../domain/outline.js';
import { reloadCourse } from './shared.js';

/** Authoring needs the INSTRUCTOR or ADMIN role; ownership of the course is checked by the domain. */
const author = (ctx: Context) => requireRole(ctx, 'INSTRUCTOR', 'ADMIN');
const events = (ctx: Context) => ({ traceparent: ctx.traceparent });

async function draftModule(ctx: Context, changed: Changed) {
  ctx.loaders.draftTree.clear(changed.courseId);
  const tree = await ctx.loaders.draftTree.load(changed.courseId);
  const module = tree?.modules.find((m) => m.id === changed.moduleId);
  if (!module) throw new Error(`module ${changed.moduleId} not in its draft`);
  return module;
}

async function draftLesson(ctx: Context, changed: Changed) {
  const module = await draftModule(ctx, changed);
  const lesson = module.lessons.find((l) => l.id === changed.lessonId);
  if (!lesson) throw new Error(`lesson ${changed.lessonId} not in its draft`);
  return lesson;
}

export const Mutation: MutationResolvers = {
  createCourse: async (_p, { input }, ctx) =>
    reloadCourse(ctx, await ctx.authoring.createCourse(author(ctx), input, events(ctx))),
  updateCourse: async (_p, { input }, ctx) => reloadCourse(ctx, await ctx.authoring.updateCourse(author(ctx), input)),
  setPrerequisites: async (_p, { courseId, prerequisiteIds }, ctx) =>
    reloadCourse(ctx, await ctx.authoring.setPrerequisites(author(ctx), courseId, prerequisiteIds)),

  addModule: async (_p, { input }, ctx) => draftModule(ctx, await ctx.outline.addModule(author(ctx), input)),
  updateModule: async (_p, { input }, ctx) => draftModule(ctx, await ctx.outline.updateModule(author(ctx), input)),
  moveModule: async (_p, { input }, ctx) =>
    reloadCourse(ctx, (await ctx.outline.moveModule(author(ctx), input.moduleId, input.position)).courseId),
  removeModule: async (_p, { moduleId }, ctx) =>
    reloadCourse(ctx, (await ctx.outline.removeModule(author(ctx), moduleId)).courseId),

  addLesson: async (_p, { input }, ctx) => draftLesson(ctx, await ctx.outline.addLesson(author(ctx), input)),
  updateLesson: async (_p, { input }, ctx) => draftLesson(ctx, await ctx.outline.updateLesson(author(ctx), input)),
  moveLesson: async (_p, { input }, ctx) =>
    reloadCourse(ctx, (await ctx.outline.moveLesson(author(ctx), input)).courseId),
  removeLesson: async (_p, { lessonId }, ctx) =>
    reloadCourse(ctx, (await ctx.outline.removeLesson(author(ctx), lessonId)).courseId),

  publishCourse: async (_p, { courseId }, ctx) =>
    reloadCourse(ctx, (await ctx.publishing.publish(author(ctx), courseId, events(ctx))).courseId),
  archiveCourse: async (_p, { courseId }, ctx) =>
    reloadCourse(ctx, (await ctx.publishing.archive(author(ctx), courseId, events(ctx))).courseId),
};
