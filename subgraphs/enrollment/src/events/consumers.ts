/**
 * Enrollment's durable consumers: the course projection (stream COURSE) and the purchase saga
 * (stream PAYMENT). Also read by `scripts/replay.mjs enrollment <consumer>`.
 */
import type { PrismaClient } from '../data/db.js';
import { createDb } from '../data/db.js';
import { courseProjectionHandlers, resetCourseProjection } from './course-projection.js';
import { paymentHandlers } from './payments.js';

export const consumers = {
  'enrollment-courses': { stream: 'COURSE', handlers: courseProjectionHandlers, reset: resetCourseProjection },
  'enrollment-payments': { stream: 'PAYMENT', handlers: paymentHandlers, reset: null },
};

export const transactionOf =
  (db: PrismaClient) =>
  <T>(fn: (tx: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]) => Promise<T>) =>
    db.$transaction(fn);

export function createTransaction(databaseUrl: string) {
  return transactionOf(createDb(databaseUrl));
}
