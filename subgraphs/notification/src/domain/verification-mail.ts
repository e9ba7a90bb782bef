/**
 * The email verification mail: the one message that goes to an address not yet verified, since it
 * is how its owner proves it. Queued in the identity consumer's transaction into the mail outbox
 * (unique per user and event, so a redelivery or replay queues nothing twice), outside preferences
 * (it is not a notification, and has no inbox entry). Nothing is queued for a token that has
 * expired by the time the event is applied, for an address already verified, or for a deactivated user.
 */
import { newId } from '@coursegraph/service-kit';
import type { Tx } from '../data/db.js';
import { emailBodies } from './templates.js';

export interface VerificationRequest {
  userId: string;
  email: string;
  name: string;
  token: string;
  expiresAt: string;
  /** The identity.email.verification_requested event: the mail's de-duplication key. */
  eventId: string;
  now: Date;
}

export type VerificationMailOutcome = 'queued' | 'duplicate' | 'expired' | 'already-verified' | 'deactivated';

export function renderVerificationMail(name: string, token: string, expiresAt: Date) {
  const subject = 'Confirm your email address for Coursegraph';
  const { text, html } = emailBodies(name || 'there', [
    'Please confirm that this is your email address. Until you do, Coursegraph sends you no other email.',
    `Your verification token:\n${token}`,
    `Enter it where the app asks for it (the verifyEmail mutation). It works once, until ${expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC.`,
    'If you did not create a Coursegraph account, ignore this email: nothing more will be sent to you.',
  ]);
  return { subject, text, html };
}

export async function queueVerificationMail(tx: Tx, r: VerificationRequest): Promise<VerificationMailOutcome> {
  const expiresAt = new Date(r.expiresAt);
  if (!(expiresAt > r.now)) return 'expired';
  const recipient = await tx.recipient.findUnique({ where: { userId: r.userId } });
  if (recipient?.deactivatedAt) return 'deactivated';
  if (recipient?.emailVerifiedAt && recipient.email === r.email) return 'already-verified';
  const content = renderVerificationMail(r.name || recipient?.name || '', r.token, expiresAt);
  const { count } = await tx.emailDelivery.createMany({
    data: [
      {
        id: newId(),
        userId: r.userId,
        dedupeKey: `verification:${r.eventId}`,
        toAddress: r.email,
        ...content,
        nextAttemptAt: r.now,
      },
    ],
    skipDuplicates: true,
  });
  return count === 1 ? 'queued' : 'duplicate';
}
