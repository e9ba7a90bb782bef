/**
 * The gateway's fan-out of JetStream events to subscribers. One ordered consumer per subject feeds
 * every live subscriber of that subject from memory (1,000 subscribers cost one NATS consumer, not
 * 1,000). A subscriber that resumes after a position first reads the stream from there with an
 * ordered consumer of its own, then switches to the shared feed without a gap or a duplicate:
 *
 * - it joins the feed first, remembering the feed's high-water mark H at that instant; every event
 *   the feed delivers from then on (all with sequence > H) lands in its queue;
 * - its backlog is the stream's events in (after, H], read lazily, in order;
 * - queued live events at or below the last backlog event are skipped.
 *
 * Each subscriber's queue is bounded: a subscriber that stops reading is disconnected with a clear
 * reason once its queue is full, so it can never grow the gateway's memory without bound.
 */
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ExecutionResult } from 'graphql';
import {
  badInput,
  ensureStream,
  observeConsumerLag,
  parseEvent,
  type EventType,
  type Logger,
  type ReceivedEvent,
} from '@coursegraph/service-kit';
import { formatPosition } from './position.js';
import { STREAM_FAILED_MESSAGE, StreamEnded } from './stream-ended.js';

/** One event of a stream, shared by every subscriber that receives it. */
export interface StreamEvent {
  stream: string;
  sequence: number;
  event: ReceivedEvent;
  /** Results of identical subscriptions (same operation, variables and viewer), computed once. */
  results: Map<string, Promise<ExecutionResult>>;
}

export interface OpenOptions {
  event: EventType;
  /** Resume after this stream sequence; live events only when absent. */
  after?: number;
  /** Only events this returns true for reach the subscriber (e.g. the viewer's own). */
  accept: (event: ReceivedEvent) => boolean;
  /**
   * At most this many of the stream's latest events are read for a resume: an older `after`
   * resumes from there instead, and `missedBefore` says where. Unbounded when absent.
   */
  maxBacklog?: number;
  /** Called once when the hub ends the subscription (a full queue): the transport disconnects. */
  onEnded: (reason: StreamEnded) => void;
}

/** A subscriber's view of its stream: `next()` in order, `close()` when done. */
export interface HubSubscription {
  /** The next event, or null once closed; throws StreamEnded when the hub ended it. */
  next(): Promise<StreamEvent | null>;
  close(): void;
  /** Ends it for `reason`, as the hub ends a slow subscriber (the supergraph changed under it). */
  end(reason: StreamEnded): void;
  /**
   * Where the resume began when it could not begin at `after`: the oldest event still in the
   * stream, or the oldest within `maxBacklog`. Events before it were not replayed.
   */
  readonly missedBefore: string | null;
}

interface Feed {
  stream: string;
  subscribers: Set<Subscriber>;
  /** Highest sequence the feed has handed to subscribers (or its start point). */
  highWater: number;
}

export interface EventHubOptions {
  nc: NatsConnection;
  logger: Logger;
  /** Events a subscriber may have waiting before it is disconnected as too slow. */
  bufferLimit: number;
}

export class EventHub {
  /** Messages read from JetStream for resumes since start (each backlog message once). */
  readonly reads = { backlogMessages: 0 };
  private readonly feeds = new Map<string, Promise<Feed>>();
  private readonly stops: (() => Promise<void>)[] = [];
  private jsm: Promise<JetStreamManager>;

  constructor(private readonly options: EventHubOptions) {
    this.jsm = jetstreamManager(options.nc);
  }

  async open(options: OpenOptions): Promise<HubSubscription> {
    const feed = await this.feed(options.event);
    const jsm = await this.jsm;
    let missedBefore: string | null = null;
    let backlogFrom = 0;
    if (options.after !== undefined) {
      const { state } = await jsm.streams.info(feed.stream);
      if (options.after > state.last_seq) {
        throw badInput(
          `after: position ${formatPosition(feed.stream, options.after)} is ahead of the stream (its last is ${formatPosition(feed.stream, state.last_seq)}); use the position of an event you received.`,
          'after',
        );
      }
      backlogFrom = options.after + 1;
      if (state.first_seq > backlogFrom && state.messages > 0) {
        missedBefore = formatPosition(feed.stream, state.first_seq);
        backlogFrom = state.first_seq;
      }
      const floor = options.maxBacklog === undefined ? 0 : state.last_seq - options.maxBacklog + 1;
      if (floor > backlogFrom) {
        missedBefore = formatPosition(feed.stream, floor);
        backlogFrom = floor;
      }
    }
    // Joining and reading the high-water mark happen in one synchronous step (see the top comment).
    const subscriber = new Subscriber(feed, this.options.bufferLimit, options, this.options.logger);
    feed.subscribers.add(subscriber);
    const highWater = feed.highWater;
    if (options.after !== undefined && backlogFrom <= highWater) {
      subscriber.backlog = this.backlog(jsm, feed.stream, options.event.subject, backlogFrom, highWater);
    }
    return {
      next: () => subscriber.next(),
      close: () => subscriber.close(),
      end: (reason) => subscriber.end(reason),
      missedBefore,
    };
  }

  /** Ends every subscription (the gateway is shutting down) and stops the feeds. */
  async close(): Promise<void> {
    for (const feedPromise of this.feeds.values()) {
      const feed = await feedPromise.catch(() => null);
      for (const subscriber of feed?.subscribers ?? [])
        subscriber.end(
          new StreamEnded('The gateway is shutting down; reconnect with your last position.', 'SHUTTING_DOWN'),
        );
    }
    await Promise.all(this.stops.map((stop) => stop().catch(() => undefined)));
  }

  /** How many subscribers each subject has right now (for logs and tests). */
  async subscriberCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [subject, feedPromise] of this.feeds) counts[subject] = (await feedPromise).subscribers.size;
    return counts;
  }

  private feed(event: EventType): Promise<Feed> {
    let feed = this.feeds.get(event.subject);
    if (!feed) {
      feed = this.startFeed(event);
      feed.catch(() => this.feeds.delete(event.subject));
      this.feeds.set(event.subject, feed);
    }
    return feed;
  }

  private async startFeed(eventType: EventType): Promise<Feed> {
    const { nc, logger } = this.options;
    const jsm = await this.jsm;
    const stream = await ensureStream(jsm, eventType.subject.split('.')[0]!);
    const { state } = await jsm.streams.info(stream);
    const feed: Feed = { stream, subscribers: new Set(), highWater: state.last_seq };
    // An explicit start point: the feed delivers every event after highWater, whenever it was published.
    const consumer = await jetstream(nc).consumers.get(stream, {
      filter_subjects: eventType.subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: state.last_seq + 1,
    });
    const messages = await consumer.consume({ max_messages: 256 });
    this.stops.push(async () => void (await messages.close()));
    // The feed's lag (events of its subject not yet delivered to it), read when Prometheus scrapes:
    // the subscription-delivery SLO (docs/slo.md) reads it.
    const stopLag = observeConsumerLag(
      { context: stream.toLowerCase(), consumer: `subscription-feed:${eventType.subject}`, logger },
      async () => (await consumer.info()).num_pending,
    );
    this.stops.push(async () => stopLag());
    void (async () => {
      for await (const msg of messages) {
        const event = decode(stream, eventType, msg, logger);
        feed.highWater = msg.info.streamSequence;
        if (!event) continue;
        for (const subscriber of feed.subscribers) subscriber.deliver(event);
      }
    })().catch((err: Error) => {
      logger.error({ err: err.message, subject: eventType.subject }, 'subscription feed failed');
      this.feeds.delete(eventType.subject);
      for (const subscriber of feed.subscribers)
        subscriber.end(new StreamEnded(STREAM_FAILED_MESSAGE, 'STREAM_FAILED'));
    });
    logger.info({ subject: eventType.subject, stream, startAfter: state.last_seq }, 'subscription feed started');
    return feed;
  }

  /** The stream's events of `subject` in [from, to], read lazily with an ordered consumer. */
  private async *backlog(
    jsm: JetStreamManager,
    stream: string,
    subject: string,
    from: number,
    to: number,
  ): AsyncGenerator<JsMsg> {
    // Nothing to read when the subject's last event is older than `from` (the consumer would wait forever).
    const last = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
    if (!last || last.seq < from) return;
    const consumer = await jetstream(this.options.nc).consumers.get(stream, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    // Never ask for more than the range holds: what is fetched stays within what may be read.
    const messages = await consumer.consume({ max_messages: Math.max(1, Math.min(64, to - from + 1)) });
    try {
      for await (const msg of messages) {
        this.reads.backlogMessages++;
        const seq = msg.info.streamSequence;
        if (seq > to) return;
        yield msg;
        if (seq >= to || msg.info.pending === 0) return;
      }
    } finally {
      await messages.close().catch(() => undefined);
    }
  }
}

function decode(stream: string, eventType: EventType, msg: JsMsg, logger: Logger): StreamEvent | null {
  try {
    const event = parseEvent(
      {
        subject: msg.subject,
        headers: msg.headers,
        data: msg.data,
        streamSequence: msg.info.streamSequence,
        deliveryCount: 1,
      },
      eventType,
    );
    return { stream, sequence: msg.info.streamSequence, event, results: new Map() };
  } catch (err) {
    // A malformed event reaches no subscriber; its producer's own consumers dead-letter it.
    logger.warn(
      { subject: msg.subject, streamSequence: msg.info.streamSequence, err: (err as Error).message },
      'subscription feed skipped a malformed event',
    );
    return null;
  }
}

class Subscriber {
  /** Events of the stream before the live feed, read first (a resume). */
  backlog: AsyncGenerator<JsMsg> | null = null;
  private readonly queue: StreamEvent[] = [];
  private wake: (() => void) | null = null;
  private lastSequence = 0;
  private ended: StreamEnded | null = null;
  private closed = false;

  constructor(
    private readonly feed: Feed,
    private readonly limit: number,
    private readonly options: OpenOptions,
    private readonly logger: Logger,
  ) {}

  deliver(event: StreamEvent): void {
    if (this.closed || this.ended || !this.options.accept(event.event)) return;
    if (this.queue.length >= this.limit) {
      this.end(
        new StreamEnded(
          `Too slow: ${this.limit} events were waiting to be sent. Reconnect with the position of the last event you received.`,
          'SLOW_SUBSCRIBER',
        ),
      );
      return;
    }
    this.queue.push(event);
    this.wake?.();
  }

  /** Ends the subscription for `reason`: its queue is dropped at once and the transport is told. */
  end(reason: StreamEnded): void {
    if (this.closed || this.ended) return;
    this.ended = reason;
    this.queue.length = 0;
    this.feed.subscribers.delete(this);
    this.wake?.();
    this.options.onEnded(reason);
  }

  async next(): Promise<StreamEvent | null> {
    while (this.backlog && !this.closed && !this.ended) {
      const { value: msg, done } = await this.backlog.next();
      if (done) {
        this.backlog = null;
        break;
      }
      const event = decode(this.feed.stream, this.options.event, msg, this.logger);
      this.lastSequence = msg.info.streamSequence;
      if (event && this.options.accept(event.event)) return event;
    }
    for (;;) {
      if (this.ended) throw this.ended;
      if (this.closed) return null;
      const event = this.queue.shift();
      if (event) {
        if (event.sequence <= this.lastSequence) continue;
        this.lastSequence = event.sequence;
        return event;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.feed.subscribers.delete(this);
    void this.backlog?.return(undefined);
    this.wake?.();
  }
}
