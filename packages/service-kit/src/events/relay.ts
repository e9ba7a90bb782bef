/**
 * The outbox relay: publishes a context's committed outbox rows to its JetStream stream, in id (time)
 * order, with Nats-Msg-Id = event id so a re-publish after a crash or timeout is dropped by JetStream.
 * NATS or PostgreSQL being down only delays events: rows stay unpublished and are retried forever.
 * Several relays of one context may run; `for update skip locked` gives each its own rows.
 */
import pg from 'pg';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { envelopeHeaders } from './envelope.js';
import { connectNats, ensureStream } from './nats.js';
import { outboxChannel } from './outbox.js';
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
}

export interface OutboxRelay {
  /** Events acknowledged by JetStream (a de-duplicated re-publish counts too). */
  readonly published: number;
  /** Publish attempts that failed (each also increments the row's `attempts`). */
  readonly failures: number;
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
  const { context, databaseUrl, natsUrl, logger, batchSize = 100, pollIntervalMs = 1000, publishTimeoutMs = 5000 } = options;
  assertContextName(context);
  const log = logger.child({ component: 'outbox-relay', context });
  const table = `"${context}".outbox_events`;
  const stopping = new AbortController();
  const counters = { published: 0, failures: 0 };

  // Batches run one at a time, so one pooled connection (the pool replaces it when it breaks),
  // plus the dedicated LISTEN connection.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  pool.on('error', (err) => log.warn({ err: err.message }, 'outbox relay: idle database connection failed'));

  let wake: (() => void) | null = null;
  let notified = false;
  const onNotify = () => { notified = true; wake?.(); };
  const listener = await listen(databaseUrl, outboxChannel(context), onNotify, stopping.signal, log).catch(async (err) => {
    await pool.end();
    throw err;
  });

  let nc: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let streamReady = false;

  async function publishBatch(): Promise<{ rows: number; failed: number }> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('begin');
      const { rows } = await client.query<OutboxRow>(
        `select id, subject, payload, traceparent, created_at from ${table}
          where published_at is null order by id limit $1 for update skip locked`, [batchSize]);
      // All publishes of the batch are in flight together (one TCP connection keeps their order);
      // each PubAck is awaited before its row is marked.
      const results = await Promise.allSettled(rows.map((row) => js!.publish(row.subject, row.payload, {
        msgID: row.id,
        timeout: publishTimeoutMs,
        headers: envelopeHeaders({ id: row.id, subject: row.subject, source: context, time: row.created_at, traceparent: row.traceparent }),
      })));
      const acked = rows.filter((_, i) => results[i]!.status === 'fulfilled').map((row) => row.id);
      const failed = rows.filter((_, i) => results[i]!.status === 'rejected').map((row) => row.id);
      if (acked.length) await client.query(`update ${table} set published_at = now() where id = any($1::uuid[])`, [acked]);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) {
        await client.query(`update ${table} set attempts = attempts + 1, last_error = $2 where id = any($1::uuid[])`,
          [failed, errorMessage(rejected.reason)]);
      }
      await client.query('commit');
      counters.published += acked.length;
      counters.failures += failed.length;
      if (rejected) {
        log.warn({ failed: failed.length, published: acked.length, err: errorMessage(rejected.reason) }, 'outbox relay: publish failed, will retry');
      }
      return { rows: rows.length, failed: failed.length };
    } catch (err) {
      await client.query('rollback').catch(() => { broken = true; });
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
      function done() { clearTimeout(timer); wake = null; resolve(); }
      wake = done;
    });
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
        }
        notified = false;
        const { rows, failed } = await publishBatch();
        if (failed > 0) {
          streamReady = false; // the stream may have been deleted: declare it again before retrying
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
  let stopped: Promise<void> | undefined;
  return {
    get published() { return counters.published; },
    get failures() { return counters.failures; },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        wake?.();
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
    c.on('end', () => { if (client === c && !signal.aborted) void reopen(); });
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
      try { await open(); return; } catch (err) { log.warn({ err: errorMessage(err) }, 'outbox relay: LISTEN reconnect failed'); }
    }
  };
  await open();
  return { close: async () => { const c = client; client = null; await c?.end().catch(() => undefined); } };
}
