import { badInput, decodeCursor, isUuid, pageSize, requireRole } from '@coursegraph/service-kit';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import type { CatalogQuery, CatalogSort } from '../data/catalog.js';
import { listOwnCourses } from '../data/catalog.js';
import { courseIdBySlug } from '../data/published.js';
import { CATEGORIES } from '../domain/categories.js';
import * as valid from '../domain/validation.js';
import { isVisible } from '../domain/views.js';
import { catalogConnection, ownConnection } from './shared.js';

/** The catalog ranking experiment (flags context; shipped with every learner on newest). */
export const CATALOG_RANKING_FLAG = 'catalog-ranking';

export const Query: QueryResolvers = {
  course: async (_parent, { id, slug }, ctx) => {
    if ((id == null) === (slug == null))
      throw badInput('Give either id or slug (exactly one).', id == null ? 'id' : 'slug');
    let courseId: string | null;
    if (id != null) {
      courseId = valid.id(id, 'id');
    } else {
      courseId = await courseIdBySlug(ctx.db, ctx.sql, slug!.trim());
    }
    const view = courseId ? await ctx.loaders.course.load(courseId) : null;
    return view && isVisible(ctx.viewer, view) ? view : null;
  },

  catalog: async (_parent, { filter, sort, first, after }, ctx) => {
    const take = pageSize(first);
    const query: CatalogQuery = {};
    if (filter?.category != null) query.category = valid.category(filter.category, 'filter.category');
    if (filter?.level != null) query.level = filter.level;
    if (filter?.language != null) query.language = valid.language(filter.language, 'filter.language');
    if (filter?.isFree != null) query.isFree = filter.isFree;
    if (filter?.instructorId != null) query.instructorId = valid.id(filter.instructorId, 'filter.instructorId');
    if (filter?.tag != null) query.tag = valid.tag(filter.tag, 'filter.tag');
    return catalogConnection(ctx, query, sort ?? (await rankingFor(ctx)), take, after);
  },

  myCourses: async (_parent, { status, first, after }, ctx) => {
    const viewer = requireRole(ctx, 'INSTRUCTOR', 'ADMIN');
    const take = pageSize(first);
    const beforeId = decodeCursor(after);
    if (beforeId !== null && !isUuid(beforeId)) throw badInput('"after" is not a cursor from this list.', 'after');
    return ownConnection(await listOwnCourses(ctx.db, viewer.userId, status ?? undefined, take, beforeId));
  },

  categories: () => [...CATEGORIES],
};

/**
 * The catalog's order when the client asks for none: the catalog-ranking experiment's variant for
 * the viewer (sticky per user; anonymous visitors and an unknown or unloaded flag get newest, today's
 * order). Each evaluation is counted as an exposure.
 */
async function rankingFor(ctx: Context): Promise<CatalogSort> {
  const variant = await ctx.flags.variant(CATALOG_RANKING_FLAG, 'newest', {
    ...(ctx.viewer ? { targetingKey: ctx.viewer.userId, role: ctx.viewer.role } : {}),
  });
  return variant === 'popular' ? 'POPULAR' : 'NEWEST';
}
