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

/**
 * What the sender needs from a transport: hand one message to the server, or throw. A failure of
 * the server rather than of this message (unreachable, timed out, refusing every session) is thrown
 * as a {@link MailServerUnavailableError}; anything else is this message's own failure.
 */
export interface MailTransport {
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

/**
 * The mail server could not take any message just now: the message itself was not judged. The
 * sender pauses instead of spending one of the message's attempts. `cause` is the transport's error.
 */
export class MailServerUnavailableError extends Error {
  override readonly name = 'MailServerUnavailableError';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/** nodemailer codes of a refusal of this message (its envelope, its content, its stream). */
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'ESTREAM', 'EREQUIRETLS']);

/**
 * Whether a nodemailer error is a failure of the server (true) or of this one message (false).
 *
 * Server: no connection (ECONNREFUSED and other socket errors: ESOCKET, ECONNECTION, EDNS), a
 * timeout (ETIMEDOUT), a failed greeting, EHLO or TLS (EPROTOCOL, ETLS), failed authentication
 * (EAUTH), `421` at any step (the server is closing the channel), and a temporary (4xx) refusal of
 * MAIL FROM, whose address is the same for every message. Message: a refusal of RCPT TO or DATA
 * (4xx greylisting and 5xx alike: those are the per-message retries), an address nodemailer
 * rejects before sending, a message too large. An error without a nodemailer code (not from the
 * SMTP exchange) counts as the message's, so its retries stay bounded.
 */
export function isServerFailure(err: unknown): boolean {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown; command?: unknown };
  if (e.responseCode === 421) return true;
  if (typeof e.code !== 'string') return false;
  if (MESSAGE_CODES.has(e.code)) {
    return (
      e.command === 'MAIL FROM' && typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 500
    );
  }
  return true;
}

export function smtpTransport(
  config: Pick<NotificationConfig, 'smtpHost' | 'smtpPort' | 'smtpSecure' | 'smtpUser' | 'smtpPassword' | 'smtpFrom'>,
): MailTransport {
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
      try {
        await transporter.sendMail({
          from: config.smtpFrom,
          to: email.to,
          subject: email.subject,
          text: email.text,
          html: email.html,
          messageId: email.messageId,
        });
      } catch (err) {
        if (!isServerFailure(err)) throw err;
        const { code, originalCode } = err as { code?: string; originalCode?: string };
        const codes = [code, originalCode].filter(Boolean).join('/');
        throw new MailServerUnavailableError(
          `SMTP server ${config.smtpHost}:${config.smtpPort} unavailable${codes ? ` (${codes})` : ''}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
    close: () => transporter.close(),
  };
}
