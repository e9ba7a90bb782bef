/**
 * The notification types, the category each belongs to (preferences are per category), and the
 * defaults that apply until a user chooses otherwise.
 */
import type {
  NotificationCategory,
  NotificationChannel,
  NotificationFrequency,
  NotificationType,
} from '../generated/prisma/client.js';

export const CATEGORY_OF: Record<NotificationType, NotificationCategory> = {
  ENROLLMENT_CREATED: 'ENROLLMENT',
  PAYMENT_SUCCEEDED: 'PAYMENT',
  PAYMENT_FAILED: 'PAYMENT',
  REFUND_ISSUED: 'PAYMENT',
  COURSE_COMPLETED: 'PROGRESS',
  CERTIFICATE_ISSUED: 'PROGRESS',
  COURSE_UPDATED: 'COURSE_UPDATES',
  CARDS_DUE: 'STUDY_REMINDERS',
};

export const CATEGORIES: NotificationCategory[] = [
  'ENROLLMENT',
  'PAYMENT',
  'PROGRESS',
  'COURSE_UPDATES',
  'STUDY_REMINDERS',
];
export const CHANNELS: NotificationChannel[] = ['IN_APP', 'EMAIL'];

/**
 * Everything shows in the inbox. Email: what a learner acts on or keeps (enrolment, payment,
 * completion and certificates) at once; course updates, which can be frequent, once a week. The
 * study reminder is immediate too: it comes at most once a day, and a reminder held for tomorrow's
 * digest would be stale when it arrives.
 */
export function defaultFrequency(category: NotificationCategory, channel: NotificationChannel): NotificationFrequency {
  if (channel === 'IN_APP') return 'IMMEDIATE';
  return category === 'COURSE_UPDATES' ? 'WEEKLY_DIGEST' : 'IMMEDIATE';
}

/** Frequencies a channel accepts: an inbox is not batched. */
export const FREQUENCIES_OF: Record<NotificationChannel, NotificationFrequency[]> = {
  IN_APP: ['IMMEDIATE', 'OFF'],
  EMAIL: ['IMMEDIATE', 'DAILY_DIGEST', 'WEEKLY_DIGEST', 'OFF'],
};
