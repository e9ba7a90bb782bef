import type { QueryResolvers } from '../generated/resolvers-types.js';
import { ownAttempt } from '../domain/attempts.js';
import { ownCard, reviewQueue } from '../domain/reviews.js';

export const Query: QueryResolvers = {
  reviewQueue: (_p, { courseId, limit }, ctx) => reviewQueue(ctx.db, ctx, courseId, limit ?? 20, ctx.now),
  attempt: (_p, { id }, ctx) => ownAttempt(ctx.db, ctx, id),
  card: (_p, { id }, ctx) => ownCard(ctx.db, ctx, id),
};
