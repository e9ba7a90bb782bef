/** Events of other contexts as they arrive at notification, for the tests. */
import { CourseEvents, EnrollmentEvents, PaymentEvents, enrollment } from '@coursegraph/contracts';
import { newId } from '@coursegraph/service-kit';
import type { NotificationHarness } from './harness.js';
import { eventually } from '@coursegraph/test-support';

/**
 * Publishes a course (version 1, or `version` as an update, published at `publishedAt`, default
 * now) and waits until notification knows its title.
 */
export async function publishCourse(
  h: NotificationHarness,
  title = `Course ${newId().slice(-6)}`,
  courseId = newId(),
  version = 1,
  publishedAt = new Date(),
) {
  const type = version === 1 ? CourseEvents.published : CourseEvents.updated;
  await h.publish(type, {
    course: {
      courseId,
      version,
      title,
      price: { amountMinor: 0n, currency: 'USD' },
      publishedAt: publishedAt.toISOString(),
    },
  });
  await eventually(
    `course title ${courseId} v${version}`,
    async () => (await h.app.db.courseTitle.findUnique({ where: { courseId } }))?.version === version,
  );
  return { courseId, title };
}

export function enrolled(
  h: NotificationHarness,
  userId: string,
  courseId: string,
  options: { id?: string; enrollmentId?: string; at?: Date } = {},
) {
  return h.publish(
    EnrollmentEvents.created,
    {
      enrollmentId: options.enrollmentId ?? newId(),
      userId,
      courseId,
      mode: enrollment.EnrollmentMode.FREE,
      enrolledAt: (options.at ?? new Date()).toISOString(),
    },
    { id: options.id },
  );
}

export function paid(h: NotificationHarness, userId: string, courseId: string, amountMinor = 4900n) {
  return h.publish(PaymentEvents.succeeded, {
    orderId: newId(),
    paymentId: newId(),
    userId,
    courseId,
    amount: { amountMinor, currency: 'USD' },
    paidAt: new Date().toISOString(),
  });
}

/** The user's inbox rows caused by one event. */
export const inboxOf = (h: NotificationHarness, userId: string, sourceEventId?: string) =>
  h.app.db.notification.findMany({
    where: { userId, ...(sourceEventId ? { sourceEventId } : {}) },
    orderBy: { id: 'asc' },
  });

export const emailsOf = (h: NotificationHarness, userId: string) =>
  h.app.db.emailDelivery.findMany({ where: { userId }, orderBy: { id: 'asc' } });

/** A row of the mail outbox for a recipient of its own, as a consumer's transaction writes it, due at `nextAttemptAt`. */
export async function queuedEmail(h: NotificationHarness, address: string, nextAttemptAt = new Date(0)) {
  const userId = newId();
  await h.app.db.recipient.create({ data: { userId, email: address, name: 'Pending' } });
  return h.app.db.emailDelivery.create({
    data: {
      id: newId(),
      userId,
      dedupeKey: `event:${newId()}`,
      toAddress: address,
      subject: 'Subject',
      text: 'Text',
      html: '<p>Text</p>',
      nextAttemptAt,
    },
  });
}
