import type { MutationResolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import * as authoring from '../domain/authoring.js';
import { saveAnswer, startAttempt, submitAttempt, viewSeed } from '../domain/attempts.js';
import {
  addCardsOnRequest,
  reviewCard,
  reviewSettingsView,
  undoLastReview,
  updateSettings,
} from '../domain/reviews.js';
import { attemptItemViews } from '../domain/progress.js';

const events = (ctx: Context) => ({ traceparent: ctx.traceparent });

export const Mutation: MutationResolvers = {
  createItem: (_p, { input }, ctx) => authoring.createItem(ctx.db, ctx, input.courseId, input),
  updateItem: (_p, { input }, ctx) => authoring.updateItem(ctx.db, ctx, input.id, input),
  deleteItem: (_p, { id }, ctx) => authoring.deleteItem(ctx.db, ctx, id, ctx.now),
  configureQuiz: (_p, { input }, ctx) => authoring.configureQuiz(ctx.db, ctx, input),
  createNote: (_p, { input }, ctx) => authoring.createNote(ctx.db, ctx, input),
  deleteNote: (_p, { id }, ctx) => authoring.deleteNote(ctx.db, ctx, id, ctx.now),
  createConcept: (_p, { input }, ctx) => authoring.createConcept(ctx.db, ctx, input),
  addConceptPrerequisite: (_p, { conceptId, prerequisiteId }, ctx) =>
    authoring.addPrerequisite(ctx.db, ctx, conceptId, prerequisiteId),
  removeConceptPrerequisite: (_p, { conceptId, prerequisiteId }, ctx) =>
    authoring.removePrerequisite(ctx.db, ctx, conceptId, prerequisiteId),
  setLessonConcepts: (_p, { courseId, lessonId, conceptIds }, ctx) =>
    authoring.setLessonConcepts(ctx.db, ctx, courseId, lessonId, conceptIds),

  startAttempt: (_p, { lessonId }, ctx) => startAttempt(ctx.db, ctx, lessonId, ctx.now, events(ctx)),
  saveAnswer: async (_p, { attemptId, itemId, answer }, ctx) => {
    const { attempt } = await saveAnswer(ctx.db, ctx, attemptId, itemId, answer, ctx.now);
    const views = await attemptItemViews(ctx.db, attempt);
    const view = views.find((v) => v.itemId === itemId);
    if (!view) throw new Error(`item ${itemId} vanished from attempt ${attempt.id} (${viewSeed(attempt.id, itemId)})`);
    return view;
  },
  submitAttempt: (_p, { attemptId }, ctx) => submitAttempt(ctx.db, ctx, attemptId, ctx.now, events(ctx)),

  addCourseCards: (_p, { courseId }, ctx) => addCardsOnRequest(ctx.db, ctx, courseId, ctx.now),
  reviewCard: (_p, { input }, ctx) => reviewCard(ctx.db, ctx, input, ctx.now, events(ctx)),
  undoLastReview: (_p, _args, ctx) => undoLastReview(ctx.db, ctx, ctx.now),
  updateReviewSettings: async (_p, { input }, ctx) => {
    const settings = await updateSettings(ctx.db, ctx, input);
    return reviewSettingsView(ctx.db, settings.userId);
  },
};
