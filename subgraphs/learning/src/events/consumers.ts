/**
 * Learning's durable consumers: the course projection and publications (stream COURSE), the
 * enrolments (stream ENROLLMENT), and generated material instructors approved (stream AI). Also read
 * by `scripts/replay.mjs learning <consumer>`.
 */
import { prismaTransaction, type Transaction } from '@coursegraph/service-kit';
import { createDb, type Tx } from '../data/db.js';
import { aiMaterialHandlers } from './ai-material.js';
import { courseHandlers, resetCourseProjection } from './course-projection.js';
import { enrolmentHandlers, resetEnrolments } from './enrolments.js';

export const consumers = {
  'learning-courses': { stream: 'COURSE', handlers: courseHandlers, reset: resetCourseProjection },
  'learning-enrolments': { stream: 'ENROLLMENT', handlers: enrolmentHandlers, reset: resetEnrolments },
  // Drafts are not a projection: a replay re-adds what is missing (by id) and removes nothing.
  'learning-ai-material': { stream: 'AI', handlers: aiMaterialHandlers, reset: null },
};

export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return prismaTransaction<Tx>(createDb(databaseUrl, 2));
}
