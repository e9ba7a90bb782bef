/**
 * Course's durable consumers: the entitlement projection (stream ENROLLMENT) and the lesson videos'
 * projection (stream VIDEO). Also read by `scripts/replay.mjs course <consumer>`.
 */
import { prismaTransaction, type Transaction } from '@coursegraph/service-kit';
import { createDb, type Tx } from '../data/db.js';
import { entitlementHandlers, resetEntitlements } from './entitlements.js';
import { resetLessonVideos, videoHandlers } from './videos.js';

export const consumers = {
  'course-entitlements': { stream: 'ENROLLMENT', handlers: entitlementHandlers, reset: resetEntitlements },
  'course-videos': { stream: 'VIDEO', handlers: videoHandlers, reset: resetLessonVideos },
};

export function createTransaction(databaseUrl: string): Transaction<Tx> {
  return prismaTransaction<Tx>(createDb(databaseUrl, 2));
}
