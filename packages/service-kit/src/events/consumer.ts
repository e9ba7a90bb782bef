/**
 * Durable JetStream consumers (docs/adr/0003): each event is applied once inside the consumer's own
 * transaction (recorded in processed_events), acked only after that commit, retried with backoff
 * when its handler fails, and dead-lettered after `maxDeliver` failed deliveries. Dead letters an
 * operator re-drives (dead-letters.ts) come back on `redrive.<context>.<consumer>` and are handled
 * exactly like a first delivery, by this consumer only.
 */
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders, nanos } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import { observeConsumer } from '../metrics/events.js';
import { tracingReady } from '../tracing/sdk.js';
import { deadLetter, dispatch, makeDispatcher } from './dispatch.js';
import type { DeliveredMessage } from './envelope.js';
import {
  connectNats,
  DEADLETTER_STREAM,
  ensureRedriveStream,
  ensureStream,
  REDRIVE_STREAM,
  redriveSubject,
  subjectFilter,
} from './nats.js';
import {
  DEADLETTER_HEADERS,
  EVENT_HEADERS,
  type EventHandler,
  type EventType,
  type ReceivedEvent,
  type SqlExecutor,
  type Transaction,
} from './types.js';
import { errorMessage } from './util.js';

/** A handler for one event type. Annotate `tx` with your transaction client type, e.g. `(tx: Tx, event) => ...`. */
export function on<E extends EventType, Tx extends SqlExecutor = SqlExecutor>(
  type: E,
  handle: (tx: Tx, event: ReceivedEvent<E>) => Promise<void>,
): EventHandler<Tx> {
  return { type, handle: handle as EventHandler<Tx>['handle'] };
}

export interface ConsumerOptions<Tx extends SqlExecutor> {
  /** The consuming context: its schema holds processed_events; its name prefixes the dead-letter subject. */
  context: string;
  /** Durable consumer name, unique on the stream, e.g. `enrollment-payments`. */
  name: string;
  /** The producing context's stream, e.g. PAYMENT. */
  stream: string;
  natsUrl: string;
  handlers: EventHandler<Tx>[];
  transaction: Transaction<Tx>;
  logger: Logger;
  /** Failed deliveries before the event is dead-lettered. */
  maxDeliver?: number;
  /** Redelivery delay after the 1st, 2nd, ... failure (the last one repeats). */
  backoffMs?: number[];
  /** Overrides the handlers' subjects as the server-side filter. */
  filterSubjects?: string[];
}

export interface EventConsumer {
  readonly applied: number;
  readonly failures: number;
  readonly deadLettered: number;
  /** Stops fetching, finishes the event in hand, returns unprocessed buffered ones (nak), closes NATS. */
  stop(): Promise<void>;
}

const ACK_WAIT_MS = 30_000;
const REDRIVE_CONSUMER_INACTIVE_MS = 24 * 60 * 60_000;

type Filter = ReturnType<typeof subjectFilter>;
const sameFilter = (config: { filter_subject?: string; filter_subjects?: string[] }, filter: Filter) =>
  (config.filter_subject || undefined) === filter.filter_subject &&
  JSON.stringify(config.filter_subjects?.length ? config.filter_subjects : undefined) ===
    JSON.stringify(filter.filter_subjects);

async function upsertConsumer(jsm: JetStreamManager, stream: string, name: string, filter: Filter, log: Logger) {
  // max_deliver -1: the server never drops an event on its own; we decide when to dead-letter.
  const settings = { ack_wait: nanos(ACK_WAIT_MS), max_deliver: -1, ...filter };
  const create = (startSeq: number) =>
    jsm.consumers.add(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSeq,
      ...settings,
    });
  const existing = await jsm.consumers.info(stream, name).catch((err: Error & { code?: number }) => {
    if (err.code === 10014 || /consumer not found/i.test(err.message)) return null;
    throw err;
  });
  if (!existing) {
    await create(1);
  } else if (sameFilter(existing.config, filter)) {
    if (existing.config.ack_wait !== settings.ack_wait || existing.config.max_deliver !== -1)
      await jsm.consumers.update(stream, name, settings);
  } else {
    // The handlers changed. NATS 2.9 accepts a new filter on update but then delivers nothing, so the
    // consumer is recreated, from the start of the stream: a filtered consumer's ack floor can already
    // be past events of a newly handled type, and a new handler should see its type's history anyway.
    // Events already handled are skipped through processed_events.
    log.warn(
      {
        stream,
        from: existing.config.filter_subjects ?? existing.config.filter_subject,
        to: filter.filter_subjects ?? filter.filter_subject,
      },
      'event consumer: subjects changed, recreating the durable consumer from the start of the stream',
    );
    await jsm.consumers.delete(stream, name);
    await create(1);
  }
}

/** The durable name of a consumer's re-drive consumer on REDRIVE (one namespace for every context). */
export const redriveConsumerName = (context: string, consumer: string): string => `${context}-${consumer}`;

async function upsertRedriveConsumer(jsm: JetStreamManager, context: string, consumer: string) {
  const name = redriveConsumerName(context, consumer);
  const exists = await jsm.consumers.info(REDRIVE_STREAM, name).then(
    () => true,
    (err: Error & { code?: number }) => {
      if (err.code === 10014 || /consumer not found/i.test(err.message)) return false;
      throw err;
    },
  );
  if (!exists) {
    await jsm.consumers.add(REDRIVE_STREAM, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: redriveSubject(context, consumer),
      ack_wait: nanos(ACK_WAIT_MS),
      max_deliver: -1,
      // A consumer that is gone (renamed, its service retired, a test's) is removed after a day; what
      // waits for it stays in the work queue and is delivered when it is created again.
      inactive_threshold: nanos(REDRIVE_CONSUMER_INACTIVE_MS),
    });
  }
}

/**
 * A re-driven dead letter as its original delivery: the original subject and event id (the dead
 * letter keeps them in x-subject and x-event-id), so handlers and processed_events see the same event.
 */
function fromRedrive(m: JsMsg): DeliveredMessage | null {
  const subject = m.headers?.get(DEADLETTER_HEADERS.subject) ?? '';
  const eventId = m.headers?.get(DEADLETTER_HEADERS.eventId) ?? '';
  if (!subject || !eventId) return null;
  const h = natsHeaders();
  for (const key of m.headers!.keys()) for (const value of m.headers!.values(key)) h.append(key, value);
  h.set(EVENT_HEADERS.id, eventId);
  return {
    subject,
    headers: h,
    data: m.data,
    streamSequence: Number(m.headers!.get(DEADLETTER_HEADERS.streamSequence)) || 0,
    deliveryCount: m.info.deliveryCount,
  };
}

/** Creates or updates the durable consumer and consumes until stop(); waits for NATS if it is down. */
export async function startConsumer<Tx extends SqlExecutor>(options: ConsumerOptions<Tx>): Promise<EventConsumer> {
  const { natsUrl, maxDeliver = 5, backoffMs = [200, 1000, 5000, 15000] } = options;
  const d = makeDispatcher(options);
  if (maxDeliver < 1 || backoffMs.length === 0) throw new Error('maxDeliver must be >= 1 and backoffMs non-empty');
  const counters = { applied: 0, failures: 0, deadLettered: 0 };
  // Events handled before the SDK is registered would have no consumer span.
  await tracingReady();

  const nc = await connectNats(natsUrl, { name: `${d.context}-${d.consumer}`, logger: d.log });
  const js = jetstream(nc);
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
    await ensureStream(jsm, d.stream.toLowerCase()); // so consumers may start before the producer
    await upsertConsumer(
      jsm,
      d.stream,
      d.consumer,
      subjectFilter(nc, options.filterSubjects ?? [...d.handlers.keys()], d.stream),
      d.log,
    );
    await ensureRedriveStream(jsm);
    await upsertRedriveConsumer(jsm, d.context, d.consumer);
    // The count operators see (node scripts/events.mjs deadletters list), in this service's log too.
    const deadLetterSubject = `deadletter.${d.context}.${d.consumer}`;
    const waiting =
      (await jsm.streams.info(DEADLETTER_STREAM, { subjects_filter: deadLetterSubject })).state.subjects?.[
        deadLetterSubject
      ] ?? 0;
    if (waiting > 0)
      d.log.warn(
        { deadLetters: waiting, subject: deadLetterSubject },
        'event consumer: dead letters wait for an operator (node scripts/events.mjs deadletters list)',
      );
  } catch (err) {
    await nc.close();
    throw err;
  }
  const messages = await (await js.consumers.get(d.stream, d.consumer)).consume({ max_messages: 64 });
  const redriven = await (
    await js.consumers.get(REDRIVE_STREAM, redriveConsumerName(d.context, d.consumer))
  ).consume({ max_messages: 16 });
  let stopping = false;
  let stopped: Promise<void> | undefined;
  // Lag and dead letters read at every scrape; each finished delivery counted (coursegraph_event*, _dead_letters).
  const metrics = observeConsumer({
    context: d.context,
    consumer: d.consumer,
    stream: d.stream,
    nc,
    jsm,
    logger: d.log,
  });

  async function handle(m: JsMsg, redrive: boolean): Promise<void> {
    const msg: DeliveredMessage | null = redrive
      ? fromRedrive(m)
      : {
          subject: m.subject,
          headers: m.headers,
          data: m.data,
          streamSequence: m.info.streamSequence,
          deliveryCount: m.info.deliveryCount,
        };
    if (!msg) {
      d.log.error(
        { subject: m.subject, streamSequence: m.info.streamSequence },
        'event consumer: a re-driven message without x-subject/x-event-id; dropped',
      );
      m.term();
      return;
    }
    const redriveSequence = redrive ? m.info.streamSequence : undefined;
    // A slow handler keeps its claim on the message instead of letting ack_wait redeliver it.
    const keepAlive = setInterval(() => m.working(), ACK_WAIT_MS / 3);
    try {
      const outcome = await dispatch(d, msg);
      if (outcome.kind !== 'malformed' && outcome.kind !== 'failed') {
        if (outcome.kind === 'applied') counters.applied++;
        m.ack();
        metrics.consumed('ok');
        return;
      }
      counters.failures++;
      const error = outcome.error;
      const permanent = outcome.kind === 'malformed' || (!outcome.transient && msg.deliveryCount >= maxDeliver);
      d.log.warn(
        {
          eventId: m.headers?.get(EVENT_HEADERS.id) || null,
          subject: m.subject,
          streamSequence: msg.streamSequence,
          deliveryCount: msg.deliveryCount,
          err: errorMessage(error),
          kind: outcome.kind,
          deadLetter: permanent,
          redriven: redrive,
        },
        'event handling failed',
      );
      if (permanent) await deadLetterAndTerm(m, msg, error, redriveSequence);
      else {
        m.nak(backoffMs[Math.min(msg.deliveryCount - 1, backoffMs.length - 1)]);
        metrics.consumed('retry');
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  async function deadLetterAndTerm(m: JsMsg, msg: DeliveredMessage, error: unknown, redriveSequence?: number) {
    try {
      await deadLetter(d, js, msg, error, redriveSequence);
      counters.deadLettered++;
      m.term(); // no reason text: NATS 2.9 ignores a `+TERM <reason>` ack (the reason is in x-error)
      metrics.consumed('dead_letter');
    } catch (err) {
      // Not stored in DEADLETTER yet: keep the message and try again on its next delivery.
      d.log.error(
        { subject: m.subject, streamSequence: msg.streamSequence, err: errorMessage(err) },
        'dead-letter publish failed',
      );
      m.nak(backoffMs[backoffMs.length - 1]);
      metrics.consumed('retry');
    }
  }

  const run = (source: typeof messages, redrive: boolean) =>
    (async () => {
      for await (const m of source) {
        if (stopping) {
          m.nak();
          continue;
        } // back to the server at once for another instance
        try {
          await handle(m, redrive);
        } catch (err) {
          d.log.error({ subject: m.subject, err: errorMessage(err) }, 'event consumer: unexpected error');
          m.nak(backoffMs[0]);
          metrics.consumed('retry');
        }
      }
      // consume() survives reconnects and restarts of the server; it ends by itself only on a fatal error.
      if (!stopping)
        d.log.error({ redrive }, 'event consumer: message stream ended unexpectedly; no more events are consumed');
    })().catch((err: unknown) =>
      d.log.error(
        { redrive, err: errorMessage(err) },
        'event consumer: message stream failed; no more events are consumed',
      ),
    );
  // Re-driven dead letters are handled beside the stream's events, each loop one message at a time.
  const running = Promise.all([run(messages, false), run(redriven, true)]);

  return {
    get applied() {
      return counters.applied;
    },
    get failures() {
      return counters.failures;
    },
    get deadLettered() {
      return counters.deadLettered;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        metrics.stop();
        const closed = Promise.all([messages.close(), redriven.close()]);
        await running;
        await closed;
        await nc.drain(); // flushes the last acks before closing
      })();
      return stopped;
    },
  };
}
