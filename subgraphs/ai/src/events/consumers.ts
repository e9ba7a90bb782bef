/**
 * AI's durable consumers: courses, lessons and their text (stream COURSE), enrolments (ENROLLMENT),
 * video captions (VIDEO), and open quiz attempts (LEARNING). Also read by
 * `scripts/replay.mjs ai <consumer>`.
 */
import { prismaTransaction, type Transaction } from '@coursegraph/service-kit';
import { createDb, type Tx } from '../data/db.js';
import { attemptHandlers, resetAttempts } from './attempts.js';
import { captionHandlers, resetCaptions } from './captions.js';
import { courseHandlers, resetCourseProjection } from './course-projection.js';
import { enrolmentHandlers, resetEnrolments } from './enrolments.js';

export const consumers = {
  'ai-courses': { stream: 'COURSE', handlers: courseHandlers, reset: resetCourseProjection },
  'ai-enrolments': { stream: 'ENROLLMENT', handlers: enrolmentHandlers, reset: resetEnrolments },
  'ai-captions': { stream: 'VIDEO', handlers: captionHandlers, reset: resetCaptions },
  'ai-attempts': { stream: 'LEARNING', handlers: attemptHandlers, reset: resetAttempts },
};

export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return prismaTransaction<Tx>(createDb(databaseUrl, 2));
}
