/** The SMTP transport (nodemailer) to the configured server. */
import nodemailer from 'nodemailer';
import type { NotificationConfig } from '../config.js';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per delivery, so a resend after a crash carries the same Message-ID and a client can de-duplicate it. */
  messageId: string;
}

/** What the sender needs from a transport: hand one message to the server, or throw. */
export interface MailTransport {
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

export function smtpTransport(config: Pick<NotificationConfig, 'smtpHost' | 'smtpPort' | 'smtpSecure' | 'smtpUser' | 'smtpPassword' | 'smtpFrom'>): MailTransport {
  const transporter = nodemailer.createTransport({
    host: config.smtpHost,
    port: config.smtpPort,
    secure: config.smtpSecure,
    auth: config.smtpUser ? { user: config.smtpUser, pass: config.smtpPassword } : undefined,
    // One connection reused for many messages: a new SMTP session per message costs several round trips.
    pool: true,
    maxConnections: 2,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(email) {
      await transporter.sendMail({ from: config.smtpFrom, to: email.to, subject: email.subject, text: email.text, html: email.html, messageId: email.messageId });
    },
    close: () => transporter.close(),
  };
}
