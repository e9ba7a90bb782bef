/**
 * Notification's projections of other contexts' data, from their events: recipients (identity),
 * course titles (course snapshots) and who is enrolled where (enrollment). Never read from the
 * owners' tables.
 */
import { IdentityEvents, type course } from '@coursegraph/contracts';
import { on, type ReceivedEvent } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { queueVerificationMail } from '../domain/verification-mail.js';

/** Records the snapshot's title when it is newer; returns whether it was (an older or equal version changes nothing). */
export async function applyCourseTitle(tx: Tx, snapshot: course.CourseSnapshot): Promise<boolean> {
  const current = await tx.courseTitle.findUnique({
    where: { courseId: snapshot.courseId },
    select: { version: true },
  });
  if (current && current.version >= snapshot.version) return false;
  await tx.courseTitle.upsert({
    where: { courseId: snapshot.courseId },
    create: { courseId: snapshot.courseId, title: snapshot.title, version: snapshot.version },
    update: { title: snapshot.title, version: snapshot.version },
  });
  return true;
}

export async function applyEnrolled(
  tx: Tx,
  e: { userId: string; courseId: string; enrollmentId: string },
): Promise<void> {
  await tx.courseLearner.upsert({
    where: { courseId_userId: { courseId: e.courseId, userId: e.userId } },
    create: { courseId: e.courseId, userId: e.userId, enrollmentId: e.enrollmentId, active: true },
    update: { enrollmentId: e.enrollmentId, active: true },
  });
}

export async function applyRevoked(
  tx: Tx,
  e: { userId: string; courseId: string; enrollmentId: string },
): Promise<void> {
  // Only the access that was revoked: a newer enrolment in the same course stays active.
  await tx.courseLearner.updateMany({
    where: { courseId: e.courseId, userId: e.userId, enrollmentId: e.enrollmentId },
    data: { active: false },
  });
}

export const identityHandlers = [
  on(IdentityEvents.userRegistered, async (tx: Tx, e: ReceivedEvent<typeof IdentityEvents.userRegistered>) => {
    const { userId, email, name } = e.payload;
    // Demo accounts are registered verified; a sign-up is not, until identity.email.verified.
    const verifiedAt = e.payload.emailVerifiedAt ? new Date(e.payload.emailVerifiedAt) : null;
    await tx.recipient.upsert({
      where: { userId },
      create: { userId, email, name, emailVerifiedAt: verifiedAt },
      update: { email, name, ...(verifiedAt ? { emailVerifiedAt: verifiedAt } : {}) },
    });
  }),
  on(IdentityEvents.emailVerified, async (tx: Tx, e: ReceivedEvent<typeof IdentityEvents.emailVerified>) => {
    const { userId, email } = e.payload;
    const verifiedAt = new Date(e.payload.verifiedAt || e.time);
    const recipient = await tx.recipient.findUnique({ where: { userId } });
    // The stream is ordered, so the registration came first; the verified address is the one mail goes to.
    if (!recipient) {
      await tx.recipient.create({ data: { userId, email, name: '', emailVerifiedAt: verifiedAt } });
    } else if (recipient.email === email) {
      await tx.recipient.update({ where: { userId }, data: { emailVerifiedAt: verifiedAt } });
    }
  }),
  on(
    IdentityEvents.emailVerificationRequested,
    async (tx: Tx, e: ReceivedEvent<typeof IdentityEvents.emailVerificationRequested>) => {
      await queueVerificationMail(tx, { ...e.payload, eventId: e.id, now: new Date() });
    },
  ),
  on(IdentityEvents.userDeactivated, async (tx: Tx, e: ReceivedEvent<typeof IdentityEvents.userDeactivated>) => {
    const { userId } = e.payload;
    const deactivatedAt = new Date(e.payload.deactivatedAt || e.time);
    await tx.recipient.updateMany({ where: { userId }, data: { deactivatedAt } });
    // Mail stops now, including what is already queued.
    await tx.emailDelivery.updateMany({
      where: { userId, status: 'PENDING' },
      data: { status: 'CANCELLED', lastError: 'recipient deactivated' },
    });
    await tx.digestEntry.deleteMany({ where: { userId, emailDeliveryId: null } });
  }),
];

export async function resetRecipients(tx: Tx): Promise<void> {
  await tx.recipient.deleteMany({});
}

export async function resetCourseTitles(tx: Tx): Promise<void> {
  await tx.courseTitle.deleteMany({});
}

export async function resetCourseLearners(tx: Tx): Promise<void> {
  await tx.courseLearner.deleteMany({});
}
