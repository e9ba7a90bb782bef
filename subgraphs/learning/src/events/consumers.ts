/**
 * Learning's durable consumers: the course projection and publications (stream COURSE), and the
 * enrolments (stream ENROLLMENT). Also read by `scripts/replay.mjs learning <consumer>`.
 */
import { prismaTransaction, type Transaction } from '@coursegraph/service-kit';
import { createDb, type Tx } from '../data/db.js';
import { courseHandlers, resetCourseProjection } from './course-projection.js';
import { enrolmentHandlers, resetEnrolments } from './enrolments.js';

export const consumers = {
  'learning-courses': { stream: 'COURSE', handlers: courseHandlers, reset: resetCourseProjection },
  'learning-enrolments': { stream: 'ENROLLMENT', handlers: enrolmentHandlers, reset: resetEnrolments },
};

export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return prismaTransaction<Tx>(createDb(databaseUrl, 2));
}
