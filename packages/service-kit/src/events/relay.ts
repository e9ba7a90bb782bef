/**
 * The outbox relay: publishes a context's committed outbox rows to its JetStream stream, in id (time)
 * order, with Nats-Msg-Id = event id so a re-publish after a crash or timeout is dropped by JetStream.
 * NATS or PostgreSQL being down only delays events: rows stay unpublished and are retried forever.
 * Several relays of one context may run; `for update skip locked` gives each its own rows.
 *
 * A row the server refuses cannot hold back the rows behind it (publish-failure.ts classifies why):
 * it waits out its own backoff while the relay goes on, and after EVENT_OUTBOX_MAX_ATTEMPTS refusals
 * (at once when it is too large) it is parked: left unpublished with `attempts >= maxAttempts` and
 * `last_error`, skipped by the relay, counted in its logs and listed by `node scripts/events.mjs`
 * (parked-outbox.ts), which re-drives it. Parking gives up per-aggregate order for that one event:
 * later events of the same aggregate are published before it. That is the lesser harm (one bad
 * event no longer stops its whole context), it is visible, and consumers where order matters already
 * apply by version or sequence (course snapshots carry their version) rather than by arrival.
 */
import pg from 'pg';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { envelopeHeaders } from './envelope.js';
import { encodedHeadersSize } from './event-size.js';
import { connectNats, ensureStream } from './nats.js';
import { outboxChannel } from './outbox.js';
import { observeOutbox } from '../metrics/events.js';
import { DEADLETTER_HEADER_ROOM, processOutboxSettings } from './outbox-settings.js';
import { countParked } from './parked-outbox.js';
import { inPublishSpan } from '../tracing/events.js';
import { tracingReady } from '../tracing/sdk.js';
import { classifyPublishError, describePublishError, OutboxRowTooLargeError } from './publish-failure.js';
import { assertContextName, backoffMs, errorMessage, sleep } from './util.js';

export interface OutboxRelayOptions {
  context: string;
  databaseUrl: string;
  natsUrl: string;
  logger: Logger;
  batchSize?: number;
  /** Safety net when a NOTIFY is missed (e.g. while the LISTEN connection reconnects). */
  pollIntervalMs?: number;
  /** How long one publish waits for its PubAck before it counts as failed. */
  publishTimeoutMs?: number;
  /** Refusals after which a row is parked. Default: EVENT_OUTBOX_MAX_ATTEMPTS (outbox-settings.ts, 10). */
  maxAttempts?: number;
  /** How often the parked rows are counted and, when there are any, logged (also once at start). Default 10 minutes. */
  parkedLogIntervalMs?: number;
}

export interface OutboxRelay {
  /** Events acknowledged by JetStream (a de-duplicated re-publish counts too). */
  readonly published: number;
  /** Publish attempts that failed (refusals also increment the row's `attempts`; outages do not). */
  readonly failures: number;
  /** Rows this relay parked. */
  readonly parked: number;
  /** Finishes the current batch, then closes the database and NATS connections. */
  stop(): Promise<void>;
}

interface OutboxRow {
  id: string;
  subject: string;
  payload: Buffer;
  traceparent: string;
  created_at: Date;
}

/**
 * Starts relaying. Rejects when the database is unreachable at start; NATS may come later (events wait).
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const {
    context,
    databaseUrl,
    natsUrl,
    logger,
    batchSize = 100,
    pollIntervalMs = 1000,
    publishTimeoutMs = 5000,
    parkedLogIntervalMs = 10 * 60_000,
  } = options;
  const maxAttempts = options.maxAttempts ?? processOutboxSettings().maxAttempts;
  assertContextName(context);
  // Events published before the SDK is registered would have no publish span.
  await tracingReady();
  const log = logger.child({ component: 'outbox-relay', context });
  const table = `"${context}".outbox_events`;
  const stopping = new AbortController();
  const counters = { published: 0, failures: 0, parked: 0 };
  // Refused rows waiting out their backoff (id -> not before, ms): the batches skip them meanwhile,
  // so they never slow down the rows behind them.
  const retryAt = new Map<string, number>();

  // Batches run one at a time, so one pooled connection (the pool replaces it when it breaks),
  // plus the dedicated LISTEN connection.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  pool.on('error', (err) => log.warn({ err: err.message }, 'outbox relay: idle database connection failed'));

  let wake: (() => void) | null = null;
  let notified = false;
  const onNotify = () => {
    notified = true;
    wake?.();
  };
  const listener = await listen(databaseUrl, outboxChannel(context), onNotify, stopping.signal, log).catch(
    async (err) => {
      await pool.end();
      throw err;
    },
  );

  let nc: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let streamReady = false;
  let maxPayloadChecked = false;

  async function publishBatch(): Promise<{ rows: number; failed: number; transient: number }> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('begin');
      const now = Date.now();
      for (const [id, at] of retryAt) if (at <= now) retryAt.delete(id);
      const { rows } = await client.query<OutboxRow & { attempts: number }>(
        `select id, subject, payload, traceparent, created_at, attempts from ${table}
          where published_at is null and attempts < $2 and id <> all($3::uuid[])
          order by id limit $1 for update skip locked`,
        [batchSize, maxAttempts, [...retryAt.keys()]],
      );
      const maxPayload = nc?.info?.max_payload ?? Number.POSITIVE_INFINITY;
      // All publishes of the batch are in flight together (one TCP connection keeps their order);
      // each PubAck is awaited before its row is marked.
      const results = await Promise.allSettled(
        // Traced, each publish has its span, and the message carries its traceparent (tracing/events.ts).
        rows.map((row) =>
          inPublishSpan(row, async (traceparent) => {
            const headers = envelopeHeaders({
              id: row.id,
              subject: row.subject,
              source: context,
              time: row.created_at,
              traceparent,
            });
            // The client refuses it too, but this error names both sizes (a row written under a larger
            // EVENT_MAX_BYTES, or before the server's max_payload was lowered).
            const size = row.payload.byteLength + encodedHeadersSize(headers);
            if (size > maxPayload) throw new OutboxRowTooLargeError(size, maxPayload);
            return js!.publish(row.subject, row.payload, { msgID: row.id, timeout: publishTimeoutMs, headers });
          }),
        ),
      );
      const acked = rows.filter((_, i) => results[i]!.status === 'fulfilled').map((row) => row.id);
      if (acked.length)
        await client.query(`update ${table} set published_at = now() where id = any($1::uuid[])`, [acked]);
      const transient: string[] = [];
      let transientError: unknown;
      for (const [i, result] of results.entries()) {
        if (result.status === 'fulfilled') continue;
        const row = rows[i]!;
        const kind = classifyPublishError(result.reason);
        const error = describePublishError(result.reason, row.subject).slice(0, 2000);
        if (kind === 'transient') {
          transient.push(row.id);
          transientError ??= result.reason;
          continue;
        }
        const attempts = kind === 'permanent' ? Math.max(row.attempts + 1, maxAttempts) : row.attempts + 1;
        await client.query(`update ${table} set attempts = $2, last_error = $3 where id = $1`, [
          row.id,
          attempts,
          error,
        ]);
        if (attempts >= maxAttempts) {
          counters.parked++;
          log.error(
            { eventId: row.id, subject: row.subject, attempts, err: error, kind },
            'outbox relay: event parked; the events behind it go on (node scripts/events.mjs outbox list / redrive)',
          );
        } else {
          retryAt.set(row.id, now + backoffMs(row.attempts));
          log.warn(
            { eventId: row.id, subject: row.subject, attempts, maxAttempts, err: error },
            'outbox relay: publish refused, will retry',
          );
        }
      }
      if (transient.length) {
        // An outage is not the rows' fault: note it, count nothing toward parking.
        await client.query(`update ${table} set last_error = $2 where id = any($1::uuid[])`, [
          transient,
          errorMessage(transientError).slice(0, 2000),
        ]);
      }
      await client.query('commit');
      const failed = rows.length - acked.length;
      counters.published += acked.length;
      counters.failures += failed;
      if (transient.length) {
        log.warn(
          { failed: transient.length, published: acked.length, err: errorMessage(transientError) },
          'outbox relay: publish failed, will retry',
        );
      }
      return { rows: rows.length, failed, transient: transient.length };
    } catch (err) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  // Waits for the poll interval, a NOTIFY or stop(), whichever comes first.
  function idle(): Promise<void> {
    if (notified || stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, pollIntervalMs);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  // Parked rows are counted at start and then every parkedLogIntervalMs, and logged when there are any.
  let parkedLoggedAt = 0;
  async function logParked(): Promise<void> {
    const first = parkedLoggedAt === 0;
    if (!first && Date.now() - parkedLoggedAt < parkedLogIntervalMs) return;
    const { parked, oldest } = await countParked(pool, context, maxAttempts);
    parkedLoggedAt = Date.now();
    if (parked > 0)
      log.warn(
        { parked, oldest, maxAttempts },
        'outbox relay: parked events wait for an operator (node scripts/events.mjs outbox list)',
      );
    else if (first) log.info({ parked }, 'outbox relay: no parked events');
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!stopping.signal.aborted) {
      try {
        nc ??= await connectNats(natsUrl, { name: `${context}-outbox-relay`, logger: log, signal: stopping.signal });
        js ??= jetstream(nc);
        if (!streamReady) {
          await ensureStream(await jetstreamManager(nc), context);
          streamReady = true;
          const maxPayload = nc.info?.max_payload;
          if (
            !maxPayloadChecked &&
            maxPayload !== undefined &&
            maxPayload < processOutboxSettings().maxBytes + DEADLETTER_HEADER_ROOM
          ) {
            log.warn(
              { maxPayload, eventMaxBytes: processOutboxSettings().maxBytes },
              'outbox relay: the NATS server accepts less than EVENT_MAX_BYTES plus dead-letter room; lower EVENT_MAX_BYTES, or larger events will be parked',
            );
          }
          maxPayloadChecked = true;
        }
        notified = false;
        await logParked();
        const { rows, failed, transient } = await publishBatch();
        // A refusal may mean the stream was deleted: declare it again before the next batch.
        if (failed > 0) streamReady = false;
        if (transient > 0) {
          // The server is away: wait for it (the refused rows, if any, wait out their own backoff).
          await sleep(backoffMs(attempt++), stopping.signal);
        } else {
          attempt = 0;
          if (rows < batchSize) await idle();
        }
      } catch (err) {
        if (stopping.signal.aborted) break;
        const delay = backoffMs(attempt++);
        log.warn({ err: errorMessage(err), retryInMs: delay }, 'outbox relay: batch failed');
        await sleep(delay, stopping.signal);
      }
    }
  }

  const running = loop();
  // Backlog, parked rows and NATS health, read at every scrape (coursegraph_outbox_*).
  const unobserve = observeOutbox({ context, pool, maxAttempts, nats: () => nc, logger });
  let stopped: Promise<void> | undefined;
  return {
    get published() {
      return counters.published;
    },
    get failures() {
      return counters.failures;
    },
    get parked() {
      return counters.parked;
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        wake?.();
        unobserve();
        await running;
        await listener.close();
        await pool.end();
        await nc?.drain().catch(() => undefined);
      })();
      return stopped;
    },
  };
}

/** A dedicated LISTEN connection that reconnects (with backoff) until `signal` aborts. */
async function listen(url: string, channel: string, onNotify: () => void, signal: AbortSignal, log: Logger) {
  let client: pg.Client | null = null;
  const open = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', onNotify);
    c.on('error', (err) => log.warn({ err: err.message }, 'outbox relay: LISTEN connection failed'));
    c.on('end', () => {
      if (client === c && !signal.aborted) void reopen();
    });
    try {
      await c.connect();
      await c.query(`listen "${channel}"`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    client = c;
    onNotify(); // events committed while we were not listening are picked up at once
  };
  const reopen = async () => {
    client = null;
    for (let attempt = 0; !signal.aborted; attempt++) {
      await sleep(backoffMs(attempt), signal);
      try {
        await open();
        return;
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'outbox relay: LISTEN reconnect failed');
      }
    }
  };
  await open();
  return {
    close: async () => {
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
