/**
 * One template per notification type: a title and body for the inbox, a subject, plain text and
 * simple HTML for email. Rendered from the event's data and notification's own projections only
 * (course titles from course snapshots), never from a call to another subgraph.
 */
import type { NotificationType } from '../generated/prisma/client.js';

export interface Money {
  amountMinor: bigint;
  currency: string;
}

/** What each type's template needs. */
export interface TemplateData {
  ENROLLMENT_CREATED: { courseTitle: string; mode: 'FREE' | 'AUDIT' | 'PAID' };
  PAYMENT_SUCCEEDED: { courseTitle: string; amount: Money };
  PAYMENT_FAILED: { courseTitle: string; reason: string };
  REFUND_ISSUED: { courseTitle: string; amount: Money; full: boolean };
  COURSE_COMPLETED: { courseTitle: string };
  CERTIFICATE_ISSUED: { courseTitle: string; publicId: string };
  COURSE_UPDATED: { courseTitle: string; version: number };
  /** Cards to review today and new cards the learner may start today (learning.cards.due). */
  CARDS_DUE: { dueCount: number; newCount: number };
}

export type NotificationInput = { [T in NotificationType]: { type: T; data: TemplateData[T] } }[NotificationType];

export interface RenderedNotification {
  title: string;
  body: string;
  subject: string;
  text: string;
  html: string;
}

export function formatMoney({ amountMinor, currency }: Money): string {
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(Number(amountMinor) / 10 ** digits);
  } catch {
    return `${amountMinor} ${currency} (minor units)`; // an unknown currency code still says what happened
  }
}

/** `1 card`, `12 cards`, `3 new cards`. */
function cardCount(count: number, adjective = ''): string {
  return `${count} ${adjective ? `${adjective} ` : ''}${count === 1 ? 'card' : 'cards'}`;
}

const FAILURE_REASONS: Record<string, string> = {
  DECLINED: 'the card was declined',
  INSUFFICIENT_FUNDS: 'the card has insufficient funds',
  PROVIDER_UNAVAILABLE: 'the payment provider could not be reached',
};

/** The in-app title and body of each type; email reuses them. */
function inbox(input: NotificationInput): { title: string; body: string } {
  switch (input.type) {
    case 'ENROLLMENT_CREATED': {
      const { courseTitle, mode } = input.data;
      const how =
        mode === 'AUDIT'
          ? 'You are auditing it: every lesson is open, without a certificate.'
          : 'Every lesson is open to you now.';
      return { title: `You are enrolled in ${courseTitle}`, body: `Welcome to ${courseTitle}. ${how}` };
    }
    case 'PAYMENT_SUCCEEDED': {
      const { courseTitle, amount } = input.data;
      return {
        title: `Payment received for ${courseTitle}`,
        body: `We received your payment of ${formatMoney(amount)} for ${courseTitle}.`,
      };
    }
    case 'PAYMENT_FAILED': {
      const { courseTitle, reason } = input.data;
      const why = FAILURE_REASONS[reason] ?? 'the payment did not go through';
      return {
        title: `Payment failed for ${courseTitle}`,
        body: `Your payment for ${courseTitle} failed: ${why}. You were not charged; you can try again.`,
      };
    }
    case 'REFUND_ISSUED': {
      const { courseTitle, amount, full } = input.data;
      const access = full ? ' Your access to the course has ended.' : '';
      return {
        title: `Refund issued for ${courseTitle}`,
        body: `We refunded ${formatMoney(amount)} for ${courseTitle}.${access}`,
      };
    }
    case 'COURSE_COMPLETED': {
      const { courseTitle } = input.data;
      return {
        title: `You completed ${courseTitle}`,
        body: `Congratulations: you finished every required lesson of ${courseTitle}.`,
      };
    }
    case 'CERTIFICATE_ISSUED': {
      const { courseTitle, publicId } = input.data;
      return {
        title: `Your certificate for ${courseTitle}`,
        body: `Your certificate for ${courseTitle} is ready. Anyone can verify it with the id ${publicId}.`,
      };
    }
    case 'COURSE_UPDATED': {
      const { courseTitle, version } = input.data;
      return {
        title: `${courseTitle} was updated`,
        body: `A new version (${version}) of ${courseTitle} is published. Have a look at what changed.`,
      };
    }
    case 'CARDS_DUE': {
      const { dueCount, newCount } = input.data;
      const total = dueCount + newCount;
      const todo = [
        dueCount > 0 ? `${cardCount(dueCount)} to review` : '',
        newCount > 0 ? `${cardCount(newCount, 'new')} to learn` : '',
      ].filter(Boolean);
      return {
        title: `${cardCount(total)} ${total === 1 ? 'is' : 'are'} due today`,
        body: `You have ${todo.join(' and ')} today. A short review now keeps them from fading.`,
      };
    }
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const SIGNATURE = '— Coursegraph';
const FOOTER = 'You can choose which emails you get, and how often, in your notification preferences.';

/** A whole email around `paragraphs` (already plain text). */
export function emailBodies(recipientName: string, paragraphs: string[]): { text: string; html: string } {
  const greeting = `Hello ${recipientName},`;
  const text = [greeting, ...paragraphs, SIGNATURE, '', FOOTER].join('\n\n');
  const html =
    `<!doctype html><html><body style="font-family:sans-serif">` +
    [greeting, ...paragraphs, SIGNATURE].map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    `<p style="color:#666;font-size:small">${escapeHtml(FOOTER)}</p></body></html>`;
  return { text, html };
}

export function render(input: NotificationInput, recipientName: string): RenderedNotification {
  const { title, body } = inbox(input);
  return { title, body, subject: title, ...emailBodies(recipientName, [body]) };
}
