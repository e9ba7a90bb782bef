import type { CategoryResolvers } from '../generated/resolvers-types.js';

export const Category: CategoryResolvers = {
  courseCount: async (c, _args, ctx) => (await ctx.loaders.categoryCounts.load('all')).get(c.slug) ?? 0,
};
