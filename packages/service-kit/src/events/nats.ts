/**
 * One way to connect to NATS and to declare the streams (docs/adr/0003: one stream per producing
 * context, `<CONTEXT>` with subjects `<context>.>`; plus DEADLETTER for `deadletter.>`).
 */
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Logger } from '../logger.js';
import { parse, readConfig, type ConfigOf, type ConfigSpec } from '../config.js';
import { assertContextName, backoffMs, errorMessage, sleep } from './util.js';
import { natsConnectOptions, redactNatsUrl } from './nats-credentials.js';

export const DEADLETTER_STREAM = 'DEADLETTER';
/**
 * Dead letters an operator sent back (dead-letters.ts), one subject per consumer,
 * `redrive.<context>.<consumer>`, read only by that consumer (consumer.ts). A work queue: a message
 * is gone once its consumer acks it, so what the stream holds is what still waits.
 */
export const REDRIVE_STREAM = 'REDRIVE';
export const redriveSubject = (context: string, consumer: string): string => `redrive.${context}.${consumer}`;
/** JetStream drops a message whose Nats-Msg-Id it has seen within this window (relay retries). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

export const streamName = (context: string): string => context.toUpperCase();

const DAY_MS = 24 * 60 * 60_000;
const MB = 1024 * 1024;

/**
 * How long and how much each stream keeps (JetStream limits, oldest dropped first). Platform-wide:
 * every service declares the streams it uses with these values, so set them alike for all of them
 * (a service with other values would update the stream back and forth at each start).
 */
export const streamRetentionSettings = {
  maxAgeDays: {
    env: 'EVENT_STREAM_MAX_AGE_DAYS',
    // Long, because replays (scripts/replay.mjs, the search index) rebuild projections from the
    // stream: an event older than this is gone, and a rebuild no longer sees it.
    default: 365,
    parse: parse.positiveInt,
    doc: 'days a context stream (COURSE, PAYMENT, …) keeps an event; a projection rebuilt later does not see older ones',
  },
  maxMb: {
    env: 'EVENT_STREAM_MAX_MB',
    // About two million events of ~500 bytes per context; JetStream reserves it on the server's disk.
    default: 1024,
    parse: parse.positiveInt,
    doc: 'megabytes a context stream may hold; past it the oldest events are dropped',
  },
  replicas: {
    env: 'EVENT_STREAM_REPLICAS',
    // One server here; a JetStream cluster of three keeps each stream on three (docs/deployment.md).
    default: 1,
    parse: (raw: string) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > 5)
        throw new Error('expected 1 to 5 (JetStream keeps at most 5 replicas)');
      return n;
    },
    doc: 'copies of every stream a JetStream cluster keeps (1 on one server; 3 in a cluster of three)',
  },
  deadLetterMaxAgeDays: {
    env: 'EVENT_DEADLETTER_MAX_AGE_DAYS',
    // Dead letters wait for a person; the original event stays in its own stream far longer.
    default: 30,
    parse: parse.positiveInt,
    doc: 'days the DEADLETTER stream keeps a message that failed its consumer',
  },
  deadLetterMaxMb: {
    env: 'EVENT_DEADLETTER_MAX_MB',
    default: 256,
    parse: parse.positiveInt,
    doc: 'megabytes the DEADLETTER stream may hold; past it the oldest are dropped',
  },
} satisfies ConfigSpec;

export type StreamRetention = ConfigOf<typeof streamRetentionSettings>;

/** The retention settings from the environment (throws ConfigError naming a bad value). */
export const streamRetentionFromEnv = (env: NodeJS.ProcessEnv = process.env): StreamRetention =>
  readConfig(streamRetentionSettings, env);

export interface ConnectNatsOptions {
  /** Shown by the server's monitoring and in our logs. */
  name: string;
  logger: Logger;
  /** Gives up waiting for the first connection (the promise rejects). */
  signal?: AbortSignal;
}

/**
 * Connects, waiting for the server if it is down (a service must start while NATS restarts), then
 * reconnects forever with a backoff of 100 ms doubling to 5 s; every state change is logged.
 * Credentials come from the URL (`nats://user:password@host` or `nats://token@host`,
 * nats-credentials.ts); replies come on the user's own inbox prefix (`_INBOX_<user>`).
 */
export async function connectNats(url: string, { name, logger, signal }: ConnectNatsOptions): Promise<NatsConnection> {
  const auth = natsConnectOptions(url);
  let reconnectAttempt = 0;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      const nc = await connect({
        ...auth,
        name,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => backoffMs(reconnectAttempt++),
      });
      if (signal?.aborted) {
        await nc.close();
        signal.throwIfAborted();
      }
      logger.info({ nats: name, server: nc.getServer() }, 'nats connected');
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === 'disconnect') logger.warn({ nats: name, server: status.server }, 'nats disconnected');
          else if (status.type === 'reconnect') {
            reconnectAttempt = 0;
            logger.info({ nats: name, server: status.server }, 'nats reconnected');
          } else if (status.type === 'error') logger.warn({ nats: name, err: status.error.message }, 'nats error');
        }
      })();
      return nc;
    } catch (err) {
      const delay = backoffMs(attempt);
      logger.warn(
        { nats: name, url: redactNatsUrl(url), err: errorMessage(err), retryInMs: delay },
        'nats connect failed',
      );
      await sleep(delay, signal);
    }
  }
}

async function upsertStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string; subjects: string[] },
) {
  const wanted = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: 1,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    ...config,
  };
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const info = await jsm.streams.info(config.name).catch((err: Error & { code?: number }) => {
      if (err.code === 10059 || /stream not found/i.test(err.message)) return null;
      throw err;
    });
    if (!info) {
      try {
        await jsm.streams.add(wanted);
        return;
      } catch (err) {
        // Another service created it between our info and add (the server says "name already in
        // use" or, when both adds race inside it, "subjects overlap"): read it again and compare.
        // A stream of another name holding these subjects keeps failing, and that error is thrown.
        if (/already in use|subjects overlap/i.test((err as Error).message)) {
          lastError = err as Error;
          await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
          continue;
        }
        throw err;
      }
    }
    const current = info.config;
    const same =
      current.duplicate_window === wanted.duplicate_window &&
      current.max_age === wanted.max_age &&
      current.max_bytes === wanted.max_bytes &&
      current.num_replicas === wanted.num_replicas &&
      (current.subjects ?? []).length === wanted.subjects.length &&
      wanted.subjects.every((s) => (current.subjects ?? []).includes(s));
    if (!same) {
      // An existing stream takes new limits in place (a smaller one drops its oldest events at once).
      // Only its producer may update it (scripts/lib/nats-config.mjs): a consumer that may create the
      // stream, to start before its producer, leaves the limits to the producer when refused.
      await jsm.streams
        .update(config.name, {
          subjects: wanted.subjects,
          duplicate_window: wanted.duplicate_window,
          num_replicas: wanted.num_replicas,
          ...(wanted.max_age === undefined ? {} : { max_age: wanted.max_age }),
          ...(wanted.max_bytes === undefined ? {} : { max_bytes: wanted.max_bytes }),
        })
        .catch((err: Error) => {
          if (!/permissions violation/i.test(err.message)) throw err;
        });
    }
    return;
  }
  throw new Error(`could not create stream ${config.name}: ${lastError?.message ?? 'unknown error'}`);
}

/**
 * Creates or updates the context's stream and the shared DEADLETTER stream (idempotent), with their
 * retention limits (`retention`, by default from the environment: streamRetentionSettings).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  context: string,
  retention: StreamRetention = streamRetentionFromEnv(),
): Promise<string> {
  assertContextName(context);
  const name = streamName(context);
  const num_replicas = retention.replicas;
  await upsertStream(jsm, {
    name,
    subjects: [`${context}.>`],
    max_age: nanos(retention.maxAgeDays * DAY_MS),
    max_bytes: retention.maxMb * MB,
    num_replicas,
  });
  await upsertStream(jsm, {
    name: DEADLETTER_STREAM,
    subjects: ['deadletter.>'],
    num_replicas,
    max_age: nanos(retention.deadLetterMaxAgeDays * DAY_MS),
    max_bytes: retention.deadLetterMaxMb * MB,
  });
  return name;
}

/** Creates the REDRIVE work-queue stream if missing (idempotent), kept as long as dead letters. */
export async function ensureRedriveStream(
  jsm: JetStreamManager,
  retention: StreamRetention = streamRetentionFromEnv(),
): Promise<void> {
  await upsertStream(jsm, {
    name: REDRIVE_STREAM,
    subjects: ['redrive.>'],
    num_replicas: retention.replicas,
    retention: RetentionPolicy.Workqueue,
    max_age: nanos(retention.deadLetterMaxAgeDays * DAY_MS),
    max_bytes: retention.deadLetterMaxMb * MB,
  });
}

/**
 * A consumer's server-side filter. NATS 2.10 takes several subjects; 2.9 (Debian 12's server) only one,
 * so with several subjects on 2.9 the filter is the whole stream (`<context>.>`, not "none": 2.9 cannot
 * update a filter to empty) and the consumer acks what it has no handler for. The other field is set
 * to undefined so an update replaces, rather than merges with, the previous kind of filter.
 */
export function subjectFilter(
  nc: NatsConnection,
  subjects: string[],
  stream: string,
): { filter_subject?: string; filter_subjects?: string[] } {
  const [major = 0, minor = 0] = (nc.info?.version ?? '0.0').split('.').map(Number);
  const multi = major > 2 || (major === 2 && minor >= 10);
  if (subjects.length === 1) return { filter_subject: subjects[0]!, filter_subjects: undefined };
  return multi
    ? { filter_subjects: subjects, filter_subject: undefined }
    : { filter_subject: `${stream.toLowerCase()}.>`, filter_subjects: undefined };
}
