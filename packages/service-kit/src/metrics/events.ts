/**
 * The event backbone's metrics (docs/metrics.md): the outbox's backlog and parked rows, each
 * consumer's lag and outcomes, the dead letters waiting for a context. The relay and the consumers
 * register what they can read (their own database pool and NATS connection) when they start and
 * unregister when they stop; the gauges are read at scrape time.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { DEADLETTER_STREAM } from '../events/nats.js';
import { observeDependency } from './health.js';
import { counter, metricsEnabled, scrapedGauge, serviceOf } from './registry.js';

const backlog = scrapedGauge(
  'coursegraph_outbox_backlog',
  "Unpublished rows of the context's outbox (parked ones included)",
  ['service', 'context'],
);
const parked = scrapedGauge(
  'coursegraph_outbox_parked',
  'Outbox rows the relay gave up on, waiting for an operator (node scripts/events.mjs outbox list)',
  ['service', 'context'],
);
const lag = scrapedGauge(
  'coursegraph_event_consumer_lag',
  "Events of the consumer's stream not yet delivered to it (JetStream num_pending)",
  ['service', 'context', 'consumer'],
);
const deadLetters = scrapedGauge(
  'coursegraph_dead_letters',
  "Dead letters of the context's consumers waiting in DEADLETTER (node scripts/events.mjs deadletters list)",
  ['service', 'context'],
);
const consumed = counter(
  'coursegraph_events_consumed_total',
  'Deliveries a consumer finished: ok (applied, or already applied), retry (to be redelivered), dead_letter',
  ['service', 'context', 'consumer', 'outcome'],
);

/** Reports a context's outbox backlog and parked rows through the relay's pool, and its NATS connection's health. */
export function observeOutbox(options: {
  context: string;
  pool: Pick<pg.Pool, 'query'>;
  maxAttempts: number;
  nats: () => NatsConnection | null;
  logger: Logger;
}): () => void {
  if (!metricsEnabled()) return () => {};
  const { context, pool, maxAttempts } = options;
  const service = serviceOf(options.logger);
  // assertContextName has vetted `context` (the relay's first check): it is safe in the identifier.
  const count = (where: string, params: unknown[]) => async () =>
    (
      await pool.query<{ n: number }>(
        `select count(*)::int as n from "${context}".outbox_events where published_at is null${where}`,
        params,
      )
    ).rows[0]!.n;
  const stops = [
    backlog.observe({ service, context }, count('', [])),
    parked.observe({ service, context }, count(' and attempts >= $1', [maxAttempts])),
    observeNats(options.nats),
  ];
  return () => stops.forEach((stop) => stop());
}

/** NATS is up for this connection when it answers a ping (a connection not made yet is down). */
function observeNats(nats: () => NatsConnection | null): () => void {
  return observeDependency('nats', async () => {
    const nc = nats();
    if (!nc) throw new Error('not connected');
    await nc.rtt();
  });
}

export interface ConsumerMetrics {
  /** Counts one finished delivery. */
  consumed(outcome: 'ok' | 'retry' | 'dead_letter'): void;
  /** Stops reporting the consumer's gauges. */
  stop(): void;
}

/** A durable consumer's lag and dead letters (read at scrape time) and its outcomes. */
export function observeConsumer(options: {
  context: string;
  consumer: string;
  stream: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  logger: Logger;
}): ConsumerMetrics {
  if (!metricsEnabled()) return { consumed: () => {}, stop: () => {} };
  const { context, consumer, stream, nc, jsm } = options;
  const service = serviceOf(options.logger);
  const stops = [
    lag.observe({ service, context, consumer }, async () => (await jsm.consumers.info(stream, consumer)).num_pending),
    deadLetters.observe({ service, context }, async () => {
      const info = await jsm.streams.info(DEADLETTER_STREAM, { subjects_filter: `deadletter.${context}.>` });
      return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
    }),
    observeNats(() => nc),
  ];
  return {
    consumed: (outcome) => consumed.inc({ service, context, consumer, outcome }),
    stop: () => stops.forEach((stop) => stop()),
  };
}

/**
 * The lag of a consumer the caller made itself (the gateway's subscription feeds: ordered
 * consumers, no durable name to look up), read at scrape time by `read`. Returns the stop.
 */
export function observeConsumerLag(
  options: { context: string; consumer: string; logger: Logger },
  read: () => Promise<number>,
): () => void {
  if (!metricsEnabled()) return () => {};
  const { context, consumer } = options;
  return lag.observe({ service: serviceOf(options.logger), context, consumer }, read);
}
