/**
 * Other contexts' events that become notifications. Each handler runs in the consumer's
 * transaction (processed_events makes it run once per event); deliver() makes every channel
 * unique per user and event besides, so even a replay adds nothing twice.
 */
import {
  CourseEvents,
  EnrollmentEvents,
  PaymentEvents,
  enrollment as enrollmentContract,
} from '@coursegraph/contracts';
import { on, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { deliver, type Occurrence } from '../domain/deliver.js';
import type { NotificationInput } from '../domain/templates.js';
import { applyCourseTitle, applyEnrolled, applyRevoked } from './projections.js';
import { recordCourseUpdate } from './course-update-fanout.js';

/**
 * How many deliveries of one event may fail waiting for the projections it needs (with the kit's
 * backoff, about 20 s); the next one, still before the kit dead-letters at 5, goes ahead without.
 */
const PATIENT_DELIVERIES = 4;

export class CourseNotYetKnown extends Error {
  override name = 'CourseNotYetKnown';
}

/**
 * The course's title from notification's projection. Course events travel on another stream and
 * may lag: fail (the consumer retries) for a few deliveries, then say "your course" rather than
 * hold the notification back.
 */
async function courseTitle(tx: Tx, courseId: string, event: ReceivedEvent): Promise<string> {
  const row = await tx.courseTitle.findUnique({ where: { courseId }, select: { title: true } });
  if (row) return row.title;
  if (event.deliveryCount <= PATIENT_DELIVERIES)
    throw new CourseNotYetKnown(`course ${courseId} not yet known to notification`);
  return 'your course';
}

const occurrence = (event: ReceivedEvent, userId: string, courseId: string, input: NotificationInput): Occurrence => ({
  userId,
  courseId,
  input,
  eventId: event.id,
  traceparent: event.traceparent,
  now: new Date(),
});

/** Waits for the recipient (throws, so the consumer retries) for the first few deliveries only. */
export const patient = (event: ReceivedEvent) => ({ waitForRecipient: event.deliveryCount <= PATIENT_DELIVERIES });

const MODES: Record<number, 'FREE' | 'AUDIT' | 'PAID'> = {
  [enrollmentContract.EnrollmentMode.FREE]: 'FREE',
  [enrollmentContract.EnrollmentMode.AUDIT]: 'AUDIT',
  [enrollmentContract.EnrollmentMode.PAID]: 'PAID',
};

export const enrollmentHandlers = [
  on(EnrollmentEvents.created, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.created>) => {
    const { userId, courseId, enrollmentId, mode } = e.payload;
    await applyEnrolled(tx, { userId, courseId, enrollmentId });
    const input: NotificationInput = {
      type: 'ENROLLMENT_CREATED',
      data: { courseTitle: await courseTitle(tx, courseId, e), mode: MODES[mode] ?? 'FREE' },
    };
    // One enrolment mail per user, course and UTC day of the enrolment, so enrol/unenrol/enrol in a
    // loop cannot flood a mailbox; the inbox keeps one entry per enrolment (the user's own record).
    const day = new Date(e.payload.enrolledAt || e.time).toISOString().slice(0, 10);
    await deliver(
      tx,
      { ...occurrence(e, userId, courseId, input), emailDedupeKey: `enrolment:${courseId}:${day}` },
      patient(e),
    );
  }),
  on(EnrollmentEvents.revoked, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.revoked>) => {
    await applyRevoked(tx, e.payload);
  }),
  on(EnrollmentEvents.courseCompleted, async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.courseCompleted>) => {
    const { userId, courseId } = e.payload;
    const input: NotificationInput = {
      type: 'COURSE_COMPLETED',
      data: { courseTitle: await courseTitle(tx, courseId, e) },
    };
    await deliver(tx, occurrence(e, userId, courseId, input), patient(e));
  }),
  on(
    EnrollmentEvents.certificateIssued,
    async (tx: Tx, e: ReceivedEvent<typeof EnrollmentEvents.certificateIssued>) => {
      const { userId, courseId, publicId } = e.payload;
      const input: NotificationInput = {
        type: 'CERTIFICATE_ISSUED',
        data: { courseTitle: await courseTitle(tx, courseId, e), publicId },
      };
      await deliver(tx, occurrence(e, userId, courseId, input), patient(e));
    },
  ),
];

const money = (m: { amountMinor: bigint; currency: string } | undefined) => ({
  amountMinor: m?.amountMinor ?? 0n,
  currency: m?.currency || 'USD',
});

export const paymentHandlers = [
  on(PaymentEvents.succeeded, async (tx: Tx, e: ReceivedEvent<typeof PaymentEvents.succeeded>) => {
    const { userId, courseId, amount } = e.payload;
    const input: NotificationInput = {
      type: 'PAYMENT_SUCCEEDED',
      data: { courseTitle: await courseTitle(tx, courseId, e), amount: money(amount) },
    };
    await deliver(tx, occurrence(e, userId, courseId, input), patient(e));
  }),
  on(PaymentEvents.failed, async (tx: Tx, e: ReceivedEvent<typeof PaymentEvents.failed>) => {
    const { userId, courseId, reason } = e.payload;
    const input: NotificationInput = {
      type: 'PAYMENT_FAILED',
      data: { courseTitle: await courseTitle(tx, courseId, e), reason },
    };
    await deliver(tx, occurrence(e, userId, courseId, input), patient(e));
  }),
  on(PaymentEvents.refundIssued, async (tx: Tx, e: ReceivedEvent<typeof PaymentEvents.refundIssued>) => {
    const { userId, courseId, amount, full } = e.payload;
    const input: NotificationInput = {
      type: 'REFUND_ISSUED',
      data: { courseTitle: await courseTitle(tx, courseId, e), amount: money(amount), full },
    };
    await deliver(tx, occurrence(e, userId, courseId, input), patient(e));
  }),
];

/** What the course consumer needs besides the events. */
export interface CourseHandlerOptions {
  /** Updates of one course within this many minutes of the one that started a window are folded into it. */
  coalesceMinutes: number;
}

export const courseHandlers = (options: CourseHandlerOptions) => [
  on(CourseEvents.published, async (tx: Tx, e: ReceivedEvent<typeof CourseEvents.published>) => {
    await applyCourseTitle(tx, e.payload.course!);
  }),
  on(CourseEvents.updated, async (tx: Tx, e: ReceivedEvent<typeof CourseEvents.updated>) => {
    const snapshot = e.payload.course!;
    if (!(await applyCourseTitle(tx, snapshot))) return; // an older version than the one announced
    // Only recorded here, in a short transaction: the fan-out worker notifies the learners in chunks.
    const at = new Date(snapshot.publishedAt || e.time);
    await recordCourseUpdate(
      tx,
      {
        courseId: snapshot.courseId,
        eventId: e.id,
        title: snapshot.title,
        version: snapshot.version,
        at: Number.isNaN(at.getTime()) ? new Date(e.time) : at,
      },
      options.coalesceMinutes,
    );
  }),
];
