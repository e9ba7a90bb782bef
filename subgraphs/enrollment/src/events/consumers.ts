/**
 * Enrollment's durable consumers: the course projection (stream COURSE), the purchase saga
 * (stream PAYMENT) and learning's quizzes (stream LEARNING). Also read by
 * `scripts/replay.mjs enrollment <consumer>`.
 */
import { prismaTransaction, type Transaction } from '@coursegraph/service-kit';
import { createDb, type Tx } from '../data/db.js';
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

export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return prismaTransaction<Tx>(createDb(databaseUrl, 2));
}
