import { commonSettings, databasePasswordProblem, jwksSetting, parse, type ConfigOf } from '@coursegraph/service-kit';

/** Notification's settings, read once at start-up (see README: Configuration). */
export const notificationSettings = {
  ...commonSettings,
  ...jwksSetting,
  port: { env: 'NOTIFICATION_PORT', default: 4005, parse: parse.port, doc: 'HTTP port of the notification subgraph' },
  databaseUrl: {
    env: 'NOTIFICATION_DATABASE_URL',
    default: 'postgres://cg_notification:cg_notification_dev@127.0.0.1:5432/coursegraph',
    parse: parse.url,
    productionCheck: databasePasswordProblem,
    doc: "notification's own PostgreSQL role and database",
  },
  smtpHost: {
    env: 'SMTP_HOST',
    default: '127.0.0.1',
    parse: parse.string,
    doc: 'SMTP server that mail is handed to (npm start runs a local mail sink)',
  },
  smtpPort: { env: 'SMTP_PORT', default: 2525, parse: parse.port, doc: 'its port' },
  smtpSecure: {
    env: 'SMTP_SECURE',
    default: false,
    parse: parse.boolean,
    doc: 'TLS from the first byte (port 465); otherwise STARTTLS when the server offers it',
  },
  smtpUser: { env: 'SMTP_USER', default: '', parse: parse.string, doc: 'SMTP AUTH user; empty: no authentication' },
  smtpPassword: { env: 'SMTP_PASSWORD', default: '', parse: parse.string, doc: 'SMTP AUTH password' },
  smtpFrom: {
    env: 'SMTP_FROM',
    default: 'Coursegraph <no-reply@coursegraph.dev>',
    parse: parse.string,
    doc: 'From: of every email',
  },
  mailPollMs: {
    env: 'MAIL_POLL_MS',
    default: 500,
    parse: parse.positiveInt,
    doc: 'how often the mail sender looks for due emails',
  },
  mailMaxAttempts: {
    env: 'MAIL_MAX_ATTEMPTS',
    default: 8,
    parse: parse.positiveInt,
    doc: 'attempts per email before it is marked FAILED (an outage of the server spends none)',
  },
  mailRetryBaseMs: {
    env: 'MAIL_RETRY_BASE_MS',
    default: 2000,
    parse: parse.positiveInt,
    doc: 'first retry delay after an email was refused; doubles per attempt (at most 1 h)',
  },
  mailOutageBaseMs: {
    env: 'MAIL_OUTAGE_BASE_MS',
    default: 1000,
    parse: parse.positiveInt,
    doc: 'pause of all sending after the SMTP server failed (unreachable, timed out, ...); doubles per failed probe',
  },
  mailOutageMaxMs: { env: 'MAIL_OUTAGE_MAX_MS', default: 60_000, parse: parse.positiveInt, doc: 'longest such pause' },
  digestCheckMs: {
    env: 'DIGEST_CHECK_MS',
    default: 60_000,
    parse: parse.positiveInt,
    doc: 'how often the digest job looks for ended periods',
  },
  courseUpdateCoalesceMinutes: {
    env: 'COURSE_UPDATE_COALESCE_MINUTES',
    // A course republished in a burst (fixing typos) notifies its learners once.
    default: 60,
    parse: parse.positiveInt,
    doc: 'updates of one course within this many minutes of the one that notified its learners are folded into it: one COURSE_UPDATED per learner per window',
  },
  courseUpdateFanoutChunk: {
    env: 'COURSE_UPDATE_FANOUT_CHUNK',
    // About 8 ms per learner measured on the 2-core test machine: a chunk's transaction stays near 1.5 s.
    default: 200,
    parse: parse.positiveInt,
    doc: 'learners notified of a course update per transaction; the fan-out resumes from the last one after a crash',
  },
  courseUpdateFanoutPollMs: {
    env: 'COURSE_UPDATE_FANOUT_POLL_MS',
    default: 1000,
    parse: parse.positiveInt,
    doc: 'how often the fan-out worker looks for course updates still to announce',
  },
};

export type NotificationConfig = ConfigOf<typeof notificationSettings>;
