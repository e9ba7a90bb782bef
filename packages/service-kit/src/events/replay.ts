/**
 * Rebuilds a consumer's projection from its stream: clear it (the projection's own `reset`) and forget
 * what the consumer processed, in one transaction; then apply the stream from sequence 1 with an
 * ephemeral ordered consumer, exactly as the durable consumer would (same processed_events records),
 * up to the stream's last sequence at start. The durable consumer is untouched and afterwards skips
 * the events replay applied. Best run while the consumer's service is stopped.
 */
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from '../logger.js';
import { deadLetter, dispatch, makeDispatcher, type Dispatcher } from './dispatch.js';
import type { DeliveredMessage } from './envelope.js';
import { connectNats, subjectFilter } from './nats.js';
import type { EventHandler, SqlExecutor, Transaction } from './types.js';
import { backoffMs, errorMessage, sleep } from './util.js';

export interface ReplayOptions<Tx extends SqlExecutor> {
  context: string;
  name: string;
  stream: string;
  natsUrl: string;
  handlers: EventHandler<Tx>[];
  transaction: Transaction<Tx>;
  /** Clears the projection the handlers build (runs in the same transaction as the bookkeeping reset). */
  reset: (tx: Tx) => Promise<void>;
  logger: Logger;
  maxDeliver?: number;
  /** Called after every applied or skipped event. */
  onProgress?: (progress: { events: number; streamSequence: number; lastSequence: number }) => void;
}

export interface ReplayResult {
  /** Events applied to the projection. */
  events: number;
  deadLettered: number;
  /** The stream's last sequence when the replay started. */
  lastSequence: number;
}

export async function replayConsumer<Tx extends SqlExecutor>(options: ReplayOptions<Tx>): Promise<ReplayResult> {
  const { natsUrl, reset, maxDeliver = 5, onProgress } = options;
  const d = makeDispatcher(options);
  const result: ReplayResult = { events: 0, deadLettered: 0, lastSequence: 0 };

  await d.transaction(async (tx) => {
    await reset(tx);
    await tx.$executeRawUnsafe(`delete from "${d.context}".processed_events where consumer = $1`, d.consumer);
  });

  const nc = await connectNats(natsUrl, { name: `${d.context}-${d.consumer}-replay`, logger: d.log });
  try {
    const jsm = await jetstreamManager(nc);
    // Read after the reset: anything the durable consumer applies from now on is recorded and skipped here.
    const info = await jsm.streams.info(d.stream, { subjects_filter: '>' });
    result.lastSequence = info.state.last_seq;
    const subjects = [...d.handlers.keys()];
    const matching = subjects.reduce((sum, s) => sum + (info.state.subjects?.[s] ?? 0), 0);
    if (matching === 0) return result;

    const js = jetstream(nc);
    const filter = subjectFilter(nc, subjects, d.stream);
    const ordered = await js.consumers.get(d.stream, {
      deliver_policy: DeliverPolicy.All,
      filter_subjects: filter.filter_subjects ?? filter.filter_subject!,
    });
    const messages = await ordered.consume({ max_messages: 256 });
    for await (const m of messages) {
      const seq = m.info.streamSequence;
      if (seq > result.lastSequence) break;
      await applyWithRetries(
        d,
        js,
        {
          subject: m.subject,
          headers: m.headers,
          data: m.data,
          streamSequence: seq,
          deliveryCount: 1,
        },
        maxDeliver,
        result,
      );
      onProgress?.({ events: result.events, streamSequence: seq, lastSequence: result.lastSequence });
      if (seq >= result.lastSequence || m.info.pending === 0) break;
    }
    await messages.close();
    return result;
  } finally {
    await nc.drain().catch(() => undefined);
  }
}

// The durable consumer's policy, in-process: retry a failing handler with backoff, dead-letter after
// maxDeliver attempts (or at once when the message is malformed), retry infrastructure failures forever.
async function applyWithRetries<Tx extends SqlExecutor>(
  d: Dispatcher<Tx>,
  js: JetStreamClient,
  msg: DeliveredMessage,
  maxDeliver: number,
  result: ReplayResult,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await dispatch(d, { ...msg, deliveryCount: attempt });
    if (outcome.kind !== 'malformed' && outcome.kind !== 'failed') {
      if (outcome.kind === 'applied') result.events++;
      return;
    }
    const permanent = outcome.kind === 'malformed' || (!outcome.transient && attempt >= maxDeliver);
    d.log.warn(
      {
        subject: msg.subject,
        streamSequence: msg.streamSequence,
        deliveryCount: attempt,
        err: errorMessage(outcome.error),
        deadLetter: permanent,
      },
      'replay: event handling failed',
    );
    if (permanent) {
      await deadLetter(d, js, { ...msg, deliveryCount: attempt }, outcome.error);
      result.deadLettered++;
      return;
    }
    await sleep(backoffMs(attempt));
  }
}
