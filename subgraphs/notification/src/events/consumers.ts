/**
 * Notification's durable consumers, one per producing context's stream. Also read by
 * `scripts/replay.mjs notification <consumer>`: replaying rebuilds a projection, and the
 * notifications it would create again are skipped (unique per user and source event).
 */
import { readConfig } from '@coursegraph/service-kit';
import { notificationSettings } from '../config.js';
import { courseHandlers, enrollmentHandlers, paymentHandlers, type CourseHandlerOptions } from './notifications.js';
import { identityHandlers, resetCourseLearners, resetCourseTitles, resetRecipients } from './projections.js';
import { learningHandlers } from './learning.js';

/** Notification's consumers with the given settings (the workers pass the service's configuration). */
export function notificationConsumers(options: CourseHandlerOptions) {
  return {
    'notification-identity': { stream: 'IDENTITY', handlers: identityHandlers, reset: resetRecipients },
    'notification-courses': { stream: 'COURSE', handlers: courseHandlers(options), reset: resetCourseTitles },
    'notification-enrollments': { stream: 'ENROLLMENT', handlers: enrollmentHandlers, reset: resetCourseLearners },
    'notification-payments': { stream: 'PAYMENT', handlers: paymentHandlers, reset: null },
    'notification-learning': { stream: 'LEARNING', handlers: learningHandlers, reset: null },
  };
}

/** For scripts/replay.mjs: the consumers with the coalescing period of the environment it runs in. */
export const consumers = notificationConsumers({
  coalesceMinutes: readConfig({ courseUpdateCoalesceMinutes: notificationSettings.courseUpdateCoalesceMinutes })
    .courseUpdateCoalesceMinutes,
});
