import { isUuid } from '@coursegraph/service-kit';
import type { CourseResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import { categoryRef } from '../domain/categories.js';
import { sameContent } from '../domain/content.js';
import { canManage, isVisible, statusOf, type CourseView } from '../domain/views.js';
import { shownTree, visibleCourses } from './shared.js';

/** The catalog columns shown: the latest published version's, else (never published) the draft's. */
function shown(view: CourseView) {
  if (view.published) return view.published;
  if (view.draft) return view.draft;
  throw new Error(`course ${view.id} loaded without its draft`);
}

const managed = (ctx: Context, view: CourseView) => canManage(ctx.viewer, view.instructorId);

export const Course: CourseResolvers = {
  __resolveReference: async (ref, ctx) => {
    if (!isUuid(ref.id)) return null;
    const view = await ctx.loaders.course.load(ref.id);
    return view && isVisible(ctx.viewer, view) ? view : null;
  },
  slug: (v) => shown(v).slug,
  title: (v) => shown(v).title,
  summary: (v) => shown(v).summary,
  category: (v) => categoryRef(shown(v).category),
  tags: (v) => shown(v).tags,
  level: (v) => shown(v).level,
  language: (v) => shown(v).language,
  price: (v) => ({ amountMinor: shown(v).priceMinor, currency: shown(v).currency }),
  isFree: (v) => shown(v).priceMinor === 0,
  status: (v) => statusOf(v.published),
  instructor: (v) => ({ id: v.instructorId }),
  description: async (v, _args, ctx) => (await shownTree(ctx, v)).content.description,
  modules: async (v, _args, ctx) => (await shownTree(ctx, v)).modules,
  // Published counts are columns of the catalog row, so a catalog page needs no content to count.
  moduleCount: async (v, _args, ctx) => v.published?.moduleCount ?? (await shownTree(ctx, v)).modules.length,
  lessonCount: async (v, _args, ctx) => v.published?.lessonCount ?? (await shownTree(ctx, v)).lessonCount,
  prerequisites: async (v, _args, ctx) => visibleCourses(ctx, (await shownTree(ctx, v)).content.prerequisiteIds),
  publishedAt: (v) => v.published?.publishedAt ?? null,
  firstPublishedAt: (v) => v.published?.firstPublishedAt ?? null,
  archivedAt: (v) => v.published?.archivedAt ?? null,
  version: (v) => v.published?.version ?? 0,
  hasUnpublishedChanges: async (v, _args, ctx) => {
    if (!managed(ctx, v)) return null;
    if (!v.published) return true;
    const [published, draft] = await Promise.all([
      ctx.loaders.publishedTree.load(v.id),
      ctx.loaders.draftTree.load(v.id),
    ]);
    return !published || !draft || !sameContent(published.content, draft.content);
  },
  draft: (v, _args, ctx) => (managed(ctx, v) ? ctx.loaders.draftTree.load(v.id) : null),
};
