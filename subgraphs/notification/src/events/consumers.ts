/**
 * Notification's durable consumers, one per producing context's stream. Also read by
 * `scripts/replay.mjs notification <consumer>`: replaying rebuilds a projection, and the
 * notifications it would create again are skipped (unique per user and source event).
 */
import type { PrismaClient } from '../data/db.js';
import { createDb } from '../data/db.js';
import { courseHandlers, enrollmentHandlers, paymentHandlers } from './notifications.js';
import { identityHandlers, resetCourseLearners, resetCourseTitles, resetRecipients } from './projections.js';

export const consumers = {
  'notification-identity': { stream: 'IDENTITY', handlers: identityHandlers, reset: resetRecipients },
  'notification-courses': { stream: 'COURSE', handlers: courseHandlers, reset: resetCourseTitles },
  'notification-enrollments': { stream: 'ENROLLMENT', handlers: enrollmentHandlers, reset: resetCourseLearners },
  'notification-payments': { stream: 'PAYMENT', handlers: paymentHandlers, reset: null },
};

export const transactionOf = (db: PrismaClient) => <T>(fn: (tx: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]) => Promise<T>) =>
  // A course update fans out to every learner of the course: more than Prisma's 5 s default.
  db.$transaction(fn, { timeout: 60_000, maxWait: 10_000 });

export function createTransaction(databaseUrl: string) {
  return transactionOf(createDb(databaseUrl));
}
