/**
 * Turning one event into notifications for one user, inside the consumer's transaction: the inbox
 * row, the immediate email or the digest entry, each unique per user and source event, so what a
 * redelivered or replayed event would add again is skipped by the database. Email leaves only
 * after commit, through the mail sender (mail/sender.ts).
 */
import { NotificationEvents } from '@coursegraph/contracts';
import { enqueueEvent, newId } from '@coursegraph/service-kit';
import type { NotificationCategory, NotificationChannel, NotificationFrequency } from '../generated/prisma/client.js';
import type { Tx } from '../data/db.js';
import { CATEGORY_OF, defaultFrequency } from './catalog.js';
import { periodOf } from './periods.js';
import { render, type NotificationInput } from './templates.js';

export const NOTIFICATION_CONTEXT = 'notification';

export interface Occurrence {
  userId: string;
  /** The event that caused it: the de-duplication key of every channel. */
  eventId: string;
  courseId?: string;
  input: NotificationInput;
  traceparent?: string;
  /** When it is processed; picks the digest period. */
  now: Date;
  /**
   * The email's de-duplication key when mail is not one per event (an enrolment's
   * `enrolment:<course>:<UTC day>`); default `event:<event id>`. The inbox stays one per event.
   */
  emailDedupeKey?: string;
  /**
   * The inbox row's de-duplication key when one per event is too many (a daily reminder's
   * `cards-due:<review day>`), unique per user; default none: one entry per event.
   */
  inboxDedupeKey?: string;
}

export interface DeliveryOutcome {
  inApp: 'created' | 'duplicate' | 'off';
  /** `unverified`: identity has not announced the address as verified, so no mail goes to it. */
  email: 'queued' | 'digest' | 'duplicate' | 'off' | 'no-recipient' | 'unverified';
}

/** The user's frequency per channel for a category: their choice, or the default. */
export async function frequencies(tx: Tx, userId: string, category: NotificationCategory) {
  const rows = await tx.notificationPreference.findMany({ where: { userId, category } });
  const of = (channel: NotificationChannel): NotificationFrequency =>
    rows.find((r) => r.channel === channel)?.frequency ?? defaultFrequency(category, channel);
  return { inApp: of('IN_APP'), email: of('EMAIL') };
}

/** Thrown while identity's registration of the user has not reached notification yet: the consumer retries. */
export class RecipientNotYetKnown extends Error {
  override name = 'RecipientNotYetKnown';
}

/** Whether mail under this key was already queued or held for a digest (the user may have changed frequency in between). */
async function mailedOrHeld(tx: Tx, userId: string, dedupeKey: string): Promise<boolean> {
  const [mailed, held] = await Promise.all([
    tx.emailDelivery.findUnique({ where: { userId_dedupeKey: { userId, dedupeKey } }, select: { id: true } }),
    tx.digestEntry.findUnique({ where: { userId_dedupeKey: { userId, dedupeKey } }, select: { id: true } }),
  ]);
  return mailed !== null || held !== null;
}

export async function deliver(tx: Tx, o: Occurrence, options: { waitForRecipient: boolean }): Promise<DeliveryOutcome> {
  const category = CATEGORY_OF[o.input.type];
  const [recipient, wanted] = await Promise.all([
    tx.recipient.findUnique({ where: { userId: o.userId } }),
    frequencies(tx, o.userId, category),
  ]);
  if (!recipient && wanted.email !== 'OFF' && options.waitForRecipient) {
    throw new RecipientNotYetKnown(`no address for user ${o.userId} yet (identity.user.registered not applied)`);
  }
  const content = render(o.input, recipient?.name || 'there');
  const outcome: DeliveryOutcome = { inApp: 'off', email: 'off' };

  if (wanted.inApp !== 'OFF') {
    const notification = {
      id: newId(),
      userId: o.userId,
      type: o.input.type,
      category,
      title: content.title,
      body: content.body,
      courseId: o.courseId ?? null,
      sourceEventId: o.eventId,
      createdAt: o.now,
      dedupeKey: o.inboxDedupeKey ?? null,
    };
    const { count } = await tx.notification.createMany({ data: [notification], skipDuplicates: true });
    outcome.inApp = count === 1 ? 'created' : 'duplicate';
    if (count === 1) {
      // The gateway streams this to the owner as notificationAdded.
      await enqueueEvent(
        tx,
        NOTIFICATION_CONTEXT,
        NotificationEvents.created,
        {
          notificationId: notification.id,
          userId: o.userId,
          type: o.input.type,
          title: content.title,
          body: content.body,
          createdAt: o.now.toISOString(),
          category,
          courseId: o.courseId ?? '',
        },
        o.traceparent ? { traceparent: o.traceparent } : {},
      );
    }
  }

  if (wanted.email === 'OFF') return outcome;
  if (!recipient || recipient.deactivatedAt) return { ...outcome, email: 'no-recipient' };
  // Only an address its owner proved is mailed: anyone can type someone else's at sign-up.
  if (!recipient.emailVerifiedAt) return { ...outcome, email: 'unverified' };
  if (o.emailDedupeKey && (await mailedOrHeld(tx, o.userId, o.emailDedupeKey)))
    return { ...outcome, email: 'duplicate' };
  if (wanted.email === 'IMMEDIATE') {
    const { count } = await tx.emailDelivery.createMany({
      data: [
        {
          id: newId(),
          userId: o.userId,
          dedupeKey: o.emailDedupeKey ?? `event:${o.eventId}`,
          toAddress: recipient.email,
          subject: content.subject,
          text: content.text,
          html: content.html,
          nextAttemptAt: o.now,
        },
      ],
      skipDuplicates: true,
    });
    return { ...outcome, email: count === 1 ? 'queued' : 'duplicate' };
  }
  const { count } = await tx.digestEntry.createMany({
    data: [
      {
        id: newId(),
        userId: o.userId,
        sourceEventId: o.eventId,
        frequency: wanted.email,
        period: periodOf(wanted.email, o.now),
        type: o.input.type,
        subject: content.subject,
        text: content.body,
        queuedAt: o.now,
        dedupeKey: o.emailDedupeKey ?? null,
      },
    ],
    skipDuplicates: true,
  });
  return { ...outcome, email: count === 1 ? 'digest' : 'duplicate' };
}
