import type { CourseDraftResolvers } from '../generated/resolvers-types.js';
import { categoryRef } from '../domain/categories.js';
import { visibleCourses } from './shared.js';

export const CourseDraft: CourseDraftResolvers = {
  slug: (d) => d.content.slug,
  title: (d) => d.content.title,
  summary: (d) => d.content.summary,
  description: (d) => d.content.description,
  category: (d) => categoryRef(d.content.category),
  tags: (d) => d.content.tags,
  level: (d) => d.content.level,
  language: (d) => d.content.language,
  price: (d) => d.content.price,
  isFree: (d) => d.content.price.amountMinor === 0,
  modules: (d) => d.modules,
  moduleCount: (d) => d.modules.length,
  lessonCount: (d) => d.lessonCount,
  prerequisites: (d, _args, ctx) => visibleCourses(ctx, d.content.prerequisiteIds),
  updatedAt: (d) => d.updatedAt,
};
