/**
 * The outbox's limits (platform-wide, like the stream retention in nats.ts): how large an event may
 * be when it is written, and how many failed publishes park a row.
 */
import { parse, readConfig, type ConfigOf, type ConfigSpec } from '../config.js';

/** NATS's default max_payload (the server's `max_payload`, 1 MiB): payload and headers together. */
export const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * Room kept below max_payload for the headers a dead letter adds to an event (x-error of up to 1,000
 * characters, consumer, subject, sequence, delivery count, event id: at most about 3.5 KB), so an event
 * that could be published can also be dead-lettered.
 */
export const DEADLETTER_HEADER_ROOM = 8 * 1024;

export const outboxSettings = {
  maxBytes: {
    env: 'EVENT_MAX_BYTES',
    // The server's default max_payload less the dead-letter room. A server run with a smaller
    // max_payload needs this lowered too (the relay warns at start when it is not).
    default: NATS_DEFAULT_MAX_PAYLOAD - DEADLETTER_HEADER_ROOM,
    parse: parse.positiveInt,
    doc: 'largest event (protobuf payload + envelope headers, bytes) enqueueEvent accepts; a larger one is refused and its transaction rolls back',
  },
  maxAttempts: {
    env: 'EVENT_OUTBOX_MAX_ATTEMPTS',
    // With the relay's backoff (100 ms doubling to 5 s) ten failures take about 20 s: long enough
    // for a stream being re-declared, short enough that operators see a stuck row soon.
    default: 10,
    parse: parse.positiveInt,
    doc: 'failed publishes (server refusals; timeouts and disconnects do not count) after which an outbox row is parked; too-large events are parked at once',
  },
} satisfies ConfigSpec;

export type OutboxSettings = ConfigOf<typeof outboxSettings>;

/** The outbox settings from the environment (throws ConfigError naming a bad value). */
export const outboxSettingsFromEnv = (env: NodeJS.ProcessEnv = process.env): OutboxSettings =>
  readConfig(outboxSettings, env);

let fromProcessEnv: OutboxSettings | undefined;
/** outboxSettingsFromEnv() of process.env, read once (enqueueEvent runs on every write). */
export function processOutboxSettings(): OutboxSettings {
  fromProcessEnv ??= outboxSettingsFromEnv();
  return fromProcessEnv;
}
