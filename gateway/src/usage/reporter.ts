/**
 * Publishes what the process counted as `gateway.usage.reported` every GATEWAY_USAGE_REPORT_MS,
 * straight to JetStream (the GATEWAY stream): the gateway has no database, so no outbox. Each
 * report has a new event id as its Nats-Msg-Id; identity applies each id once. A report that
 * cannot be published gives its counts back, and the next report carries them (with the older
 * period start). A publish that timed out after the server stored it is then counted twice: rare,
 * and better than losing counts, or holding an unbounded queue of reports while NATS is away.
 */
import os from 'node:os';
import { create, toBinary } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { GatewayEvents } from '@coursegraph/contracts';
import {
  connectNats,
  ensureStream,
  envelopeHeaders,
  newId,
  newTraceparent,
  startPeriodicJob,
  type Logger,
} from '@coursegraph/service-kit';
import type { UsageCount, UsageCounts } from './counts.js';

export const GATEWAY_CONTEXT = 'gateway';
/**
 * Rows per message. A row is at most about 1.5 KB (64-character client and version in 4-byte
 * characters, a 128-character operation name and document id, 16 varints), so a report stays well
 * under NATS's 1 MiB max_payload.
 */
export const MAX_COUNTS_PER_REPORT = 400;
const PUBLISH_TIMEOUT_MS = 5_000;
const CLOSE_WAIT_MS = 2_000;

export interface UsageReporterOptions {
  natsUrl: string;
  counts: UsageCounts;
  intervalMs: number;
  logger: Logger;
}

export interface UsageReporter {
  /** Publishes what was counted so far (what the timer does). */
  report(): Promise<void>;
  /** Stops the timer, publishes a last report, closes the connection. */
  close(): Promise<void>;
}

export function startUsageReporter({ natsUrl, counts, intervalMs, logger }: UsageReporterOptions): UsageReporter {
  const log = logger.child({ component: 'usage-reporter' });
  const reporter = `${os.hostname()}:${process.pid}`;
  const stopping = new AbortController();
  let nc: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let streamReady = false;
  // The gateway serves while NATS is away: counts wait in memory (bounded) until it answers.
  const connected = connectNats(natsUrl, { name: 'gateway-usage', logger: log, signal: stopping.signal }).then(
    (c) => {
      nc = c;
      js = jetstream(c);
    },
    () => undefined, // aborted by close() before NATS answered
  );

  // Reports run one after another (the timer's, and close()'s last one).
  let running: Promise<void> = Promise.resolve();
  const report = (): Promise<void> => {
    const next = running.then(publishCounts);
    running = next.catch(() => undefined);
    return next;
  };

  async function publishCounts(): Promise<void> {
    if (!nc || !js || counts.size === 0) return;
    if (!streamReady) {
      await ensureStream(await jetstreamManager(nc), GATEWAY_CONTEXT);
      streamReady = true;
    }
    const { periodStart, periodEnd, counts: rows } = counts.take();
    let failed = 0;
    let lastError: unknown;
    for (let i = 0; i < rows.length; i += MAX_COUNTS_PER_REPORT) {
      const chunk = rows.slice(i, i + MAX_COUNTS_PER_REPORT);
      try {
        await publish(js, periodStart, periodEnd, chunk);
      } catch (err) {
        counts.restore(periodStart, chunk);
        failed += chunk.length;
        lastError = err;
      }
    }
    if (failed > 0) {
      streamReady = false; // the stream may have been deleted: declare it again before the next report
      log.warn(
        { rows: failed, err: (lastError as Error).message },
        'usage report not published; kept for the next one',
      );
    }
  }

  async function publish(js: JetStreamClient, periodStart: Date, periodEnd: Date, rows: UsageCount[]) {
    const type = GatewayEvents.usageReported;
    const id = newId();
    const payload = create(type.schema, {
      reporter,
      periodStart: periodStart.toISOString(),
      periodEnd: periodEnd.toISOString(),
      counts: rows.map((r) => ({
        client: r.client,
        clientVersion: r.clientVersion,
        partnerId: r.partnerId,
        operationName: r.operationName,
        documentId: r.documentId,
        requests: BigInt(r.requests),
        errors: BigInt(r.errors),
        unregistered: BigInt(r.unregistered),
        latencyMsTotal: BigInt(r.latencyMsTotal),
        latencyBuckets: r.latencyBuckets.map(BigInt),
      })),
    });
    const headers = envelopeHeaders({
      id,
      subject: type.subject,
      source: GATEWAY_CONTEXT,
      time: new Date(),
      traceparent: newTraceparent(),
    });
    // Written out in full: scripts/docs.mjs finds the gateway's events by this call.
    await js.publish(GatewayEvents.usageReported.subject, toBinary(type.schema, payload), {
      msgID: id,
      headers,
      timeout: PUBLISH_TIMEOUT_MS,
    });
  }

  const job = startPeriodicJob('usage-reporter', intervalMs, report, log);
  let closed: Promise<void> | undefined;
  return {
    report,
    close() {
      closed ??= (async () => {
        await job.stop();
        // A gateway stopped right after it started may still be connecting: give it a moment.
        if (!nc) await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
        if (!nc) {
          stopping.abort();
          await connected;
          if (counts.size > 0) log.warn({ rows: counts.size }, 'usage counts lost: NATS never answered');
          return;
        }
        await report().catch((err: Error) =>
          log.warn({ err: err.message }, 'last usage report failed; its counts are lost'),
        );
        await nc.drain().catch(() => undefined);
      })();
      return closed;
    },
  };
}
