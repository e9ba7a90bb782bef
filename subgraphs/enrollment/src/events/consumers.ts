/**
 * Enrollment's durable consumers: the course projection (stream COURSE), the purchase saga
 * (stream PAYMENT) and learning's quizzes (stream LEARNING). Also read by
 * `scripts/replay.mjs enrollment <consumer>`.
 */
import type { PrismaClient } from '../data/db.js';
import { createDb } from '../data/db.js';
import { courseProjectionHandlers, resetCourseProjection } from './course-projection.js';
import { learningHandlers, resetQuizRequirements } from './learning.js';
import { paymentHandlers } from './payments.js';

export const consumers = {
  'enrollment-courses': { stream: 'COURSE', handlers: courseProjectionHandlers, reset: resetCourseProjection },
  'enrollment-payments': { stream: 'PAYMENT', handlers: paymentHandlers, reset: null },
  // Replayable: the quiz projection is rebuilt, and a replayed pass completes only a lesson not yet
  // done for an enrolment still in force (every lesson completion is recorded once).
  'enrollment-learning': { stream: 'LEARNING', handlers: learningHandlers, reset: resetQuizRequirements },
};

export const transactionOf =
  (db: PrismaClient) =>
  <T>(fn: (tx: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]) => Promise<T>) =>
    db.$transaction(fn);

export function createTransaction(databaseUrl: string) {
  return transactionOf(createDb(databaseUrl));
}
