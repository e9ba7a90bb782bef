import { requireViewer } from '@coursegraph/service-kit';
import type { MutationResolvers } from '../generated/resolvers-types.js';

export const Mutation: MutationResolvers = {
  askTutor: (_p, { input }, ctx) => ctx.ai.tutor.ask(ctx, input, new Date()),
  generateStudyMaterial: (_p, { lessonId }, ctx) =>
    ctx.ai.generator.request(requireViewer(ctx), lessonId, ctx.requestId ?? null, new Date()),
  approveGeneratedItem: (_p, { id }, ctx) =>
    ctx.ai.generator.approve(requireViewer(ctx), id, new Date(), ctx.traceparent),
  rejectGeneratedItem: (_p, { id }, ctx) => ctx.ai.generator.reject(requireViewer(ctx), id, new Date()),
};
