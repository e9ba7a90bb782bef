// The nats-server configuration every local NATS is started with (`npm start`'s, the tests', each
// end-to-end suite's and each benchmark's): JetStream on, and one user per service with only the
// subjects it needs (docs/adr/0003, issue 12). No `no_auth_user`: a connection without credentials is
// refused. Uses only Node built-ins.
//
// What a service may do:
// - publish its own events (`<context>.>`) and its own dead letters (`deadletter.<context>.>`);
// - declare and update its own stream, and the shared DEADLETTER and REDRIVE streams;
// - on each stream it consumes: read the stream's info, create it when missing (a consumer may start
//   before the producer: course and enrollment consume each other), and create, read, pull from,
//   ack and delete consumers. Never update or delete the stream: its limits are its producer's
//   (the kit skips a refused update, packages/service-kit/src/events/nats.ts);
// - take re-driven dead letters only from its own subjects (`redrive.<context>.>`);
// - its own work queues (WORK_QUEUES): publish jobs, declare the stream, use its durable consumer;
// - receive replies only on its own inbox prefix `_INBOX_<user>.` (the kit's connectNats and the
//   Rust subgraphs use it), since JetStream delivers pulled messages there: a shared `_INBOX.>`
//   would let any service read every other one's streams.
// The gateway reads the streams its subscriptions serve, subscribes to the events its response cache
// is invalidated by, and publishes only its usage reports (`gateway.>`, its GATEWAY stream, straight
// from memory: it has no outbox, so no dead letters or re-drives of its own). `operator` has every
// right (scripts, tests, CLIs).
import { credentials, NATS_USERS } from './credentials.mjs';
import fs from 'node:fs';

/** Streams each service consumes (durable consumers; the gateway's ordered ones). */
export const CONSUMES = {
  // The gateway's usage reports (identity-operation-usage).
  identity: ['GATEWAY'],
  // Entitlements (course-entitlements); lesson videos and caption languages, for publishing (course-videos).
  course: ['ENROLLMENT', 'VIDEO'],
  enrollment: ['COURSE', 'PAYMENT', 'LEARNING'],
  payment: ['COURSE', 'ENROLLMENT'],
  notification: ['IDENTITY', 'COURSE', 'ENROLLMENT', 'PAYMENT', 'LEARNING'],
  // Courses, enrolments, and generated material instructors approved (learning-ai-material).
  learning: ['COURSE', 'ENROLLMENT', 'AI'],
  // Courses and lesson texts, enrolments, captions, open quiz attempts (subgraphs/ai/src/events/consumers.ts).
  ai: ['COURSE', 'ENROLLMENT', 'VIDEO', 'LEARNING'],
  // Projections of courses, lessons and enrolments (rust-subgraphs/video: durables video-courses, video-enrolments).
  video: ['COURSE', 'ENROLLMENT'],
  // Subscriptions (gateway/src/subscriptions/streams.ts).
  gateway: ['NOTIFICATION', 'PAYMENT', 'ENROLLMENT', 'COURSE', 'AI'],
  // Courses (durable search-courses) and captions (durable search-captions).
  search: ['COURSE', 'VIDEO'],
  // The services' exposure reports, on its own stream (flags-exposures).
  flags: ['FLAGS'],
};
/** Services that publish events to a stream of their own (`<CONTEXT>`, subjects `<context>.>`). */
export const PRODUCERS = [
  'identity',
  'course',
  'enrollment',
  'payment',
  'notification',
  'learning',
  'video',
  'ai',
  'flags',
];
/**
 * Work queues a service keeps for itself (not event streams: no other user reads them): it publishes
 * the jobs, declares the stream, and pulls through its one durable consumer, shared by its replicas.
 */
const WORK_QUEUES = {
  // FSRS optimisation jobs (subgraphs/learning/src/workers/job-queue.ts).
  learning: [{ stream: 'LEARNING_JOBS', subjects: ['learning-jobs.>'], consumer: 'learning-optimizer' }],
  // Transcoding jobs, one per uploaded video (rust-subgraphs/video).
  video: [{ stream: 'VIDEO_JOBS', subjects: ['video-jobs.>'], consumer: 'video-transcoder' }],
};
/**
 * Core NATS subscriptions to events as they are published (the gateway's response-cache invalidation;
 * the flag changes each service with flags applies to its cache, packages/service-kit/src/flags/).
 */
const SUBSCRIBES = {
  gateway: ['course.>', 'enrollment.>', 'identity.>'],
  course: ['flags.flag.changed'],
  ai: ['flags.flag.changed'],
};
/**
 * Services that evaluate flags publish what they served straight to the FLAGS stream (no outbox: the
 * counts live in memory), as the gateway publishes its usage reports.
 */
const REPORTS_EXPOSURES = ['course', 'ai'];

/** The inbox prefix of a user's connections: replies to its requests (and pulled messages) come there only. */
export const inboxPrefix = (user) => `_INBOX_${user}`;

const api = (s) => `$JS.API.${s}`;

/** What `user` may touch on stream `s` it consumes. */
const consumerSubjects = (s) => [
  api(`STREAM.INFO.${s}`),
  api(`STREAM.CREATE.${s}`),
  api(`CONSUMER.CREATE.${s}`),
  api(`CONSUMER.CREATE.${s}.>`),
  api(`CONSUMER.DURABLE.CREATE.${s}.*`),
  api(`CONSUMER.INFO.${s}.*`),
  api(`CONSUMER.DELETE.${s}.*`),
  api(`CONSUMER.MSG.NEXT.${s}.*`),
  `$JS.ACK.${s}.>`,
];

/** `{ publish: { allow }, subscribe: { allow } }` for a generated user, or null for `operator` (every right). */
export function natsPermissions(user) {
  if (user === 'operator') return null;
  if (!(user in CONSUMES)) throw new Error(`nats-config: no permissions defined for NATS user "${user}"`);
  const publish = new Set([api('INFO')]);
  if (PRODUCERS.includes(user)) {
    const own = user.toUpperCase();
    for (const s of [`${user}.>`, `deadletter.${user}.>`]) publish.add(s);
    for (const stream of [own, 'DEADLETTER', 'REDRIVE']) {
      for (const op of ['INFO', 'CREATE', 'UPDATE']) publish.add(api(`STREAM.${op}.${stream}`));
    }
    // Re-driven dead letters (a work queue): only a consumer filtered to this context's own subjects.
    for (const s of [
      api(`CONSUMER.CREATE.REDRIVE.*.redrive.${user}.>`),
      api('CONSUMER.INFO.REDRIVE.*'),
      api('CONSUMER.MSG.NEXT.REDRIVE.*'),
      '$JS.ACK.REDRIVE.>',
    ])
      publish.add(s);
  }
  for (const stream of CONSUMES[user]) for (const s of consumerSubjects(stream)) publish.add(s);
  for (const { stream, subjects, consumer } of WORK_QUEUES[user] ?? []) {
    for (const s of subjects) publish.add(s);
    // Created when missing, never updated (job-queue.ts leaves an existing stream as it is).
    for (const op of ['INFO', 'CREATE']) publish.add(api(`STREAM.${op}.${stream}`));
    for (const s of [
      api(`CONSUMER.CREATE.${stream}.${consumer}`),
      api(`CONSUMER.CREATE.${stream}.${consumer}.>`),
      api(`CONSUMER.DURABLE.CREATE.${stream}.${consumer}`),
      api(`CONSUMER.INFO.${stream}.${consumer}`),
      api(`CONSUMER.MSG.NEXT.${stream}.${consumer}`),
      `$JS.ACK.${stream}.${consumer}.>`,
    ])
      publish.add(s);
  }
  if (REPORTS_EXPOSURES.includes(user)) publish.add('flags.exposure.reported');
  if (user === 'gateway') {
    // A resuming subscription first looks up the subject's last event (gateway/src/subscriptions/hub.ts).
    for (const stream of CONSUMES.gateway)
      publish.add(api(`STREAM.MSG.GET.${stream}`)).add(api(`DIRECT.GET.${stream}.>`));
    // Its feeds declare the stream they read as producers do (the kit's ensureStream), DEADLETTER included:
    // created when missing, never updated.
    publish.add(api('STREAM.INFO.DEADLETTER')).add(api('STREAM.CREATE.DEADLETTER'));
    // Its usage reports (gateway/src/usage/reporter.ts): its own stream, declared and kept like a producer's.
    publish.add('gateway.>');
    for (const op of ['INFO', 'CREATE', 'UPDATE']) publish.add(api(`STREAM.${op}.GATEWAY`));
  }
  return {
    publish: { allow: [...publish] },
    subscribe: { allow: [`${inboxPrefix(user)}.>`, ...(SUBSCRIBES[user] ?? [])] },
  };
}

/** JetStream's storage ceiling for the servers the scripts run: NATS_MAX_STORE_MB, default 256 GiB. */
export function maxFileStoreBytes(value = process.env.NATS_MAX_STORE_MB) {
  const mb = value === undefined || value === '' ? 262_144 : Number(value);
  if (!Number.isInteger(mb) || mb < 64)
    throw new Error(`NATS_MAX_STORE_MB must be a whole number of megabytes, at least 64 (got ${value})`);
  return mb * 1024 * 1024;
}

/**
 * The server's configuration (JSON, which nats-server's parser reads): `host`/`port` to listen on,
 * `storeDir` for JetStream, optional `pidFile` and `logFile`, and the generated users.
 */
export function natsServerConfig({ host = '127.0.0.1', port, storeDir, pidFile, logFile }) {
  const { nats: passwords } = credentials();
  const users = NATS_USERS.map((user) => {
    const permissions = natsPermissions(user);
    return { user, password: passwords[user], ...(permissions ? { permissions } : {}) };
  });
  return JSON.stringify(
    {
      listen: `${host}:${port}`,
      // An explicit ceiling: left out, NATS derives one from the disk's free space at start and
      // refuses to create streams whose limits (EVENT_STREAM_MAX_MB each) add up past it, so the
      // same stack works or not depending on how full the disk is. The streams' own limits bound
      // what is written.
      jetstream: { store_dir: storeDir, max_file_store: maxFileStoreBytes() },
      ...(pidFile ? { pid_file: pidFile } : {}),
      ...(logFile ? { log_file: logFile } : {}),
      authorization: { users },
    },
    null,
    2,
  );
}

/** Writes natsServerConfig(options) to `file` (mode 0600: it holds every password) and returns the path. */
export function writeNatsConfig(file, options) {
  fs.writeFileSync(file, `${natsServerConfig(options)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}
