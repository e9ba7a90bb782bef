/**
 * Keeps the gateway's caches (the response cache, and the entity cache in gateway/src/entity-cache)
 * true to the platform's data: the events every context publishes say what changed, and each drops
 * the cached answers that hold it. The table below is the whole
 * policy; what no event announces (today a role change, which identity does not publish) ages out
 * with the entries' time to live. The gateway reads the events as a plain NATS subscriber of the
 * subjects (no durable consumer: a gateway that was not running has no cache to correct), and
 * while its NATS connection is down it serves and keeps nothing, since it could miss a change.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { CourseEvents, EnrollmentEvents, IdentityEvents } from '@coursegraph/contracts';
import { parseEvent, type EventPayload, type EventType, type Logger } from '@coursegraph/service-kit';
import type { Invalidation } from './cache.js';

/**
 * Types whose lists, counts or search results any course change can alter: a publication adds a
 * course to the catalogue, categories and search; an update can move it in a search's ranking.
 * Course events are rare next to reads, so these drop whole types.
 */
const CATALOGUE_TYPES = ['Course', 'Module', 'Lesson', 'Category', 'SearchConnection'];

const courseChange = (): Invalidation => ({ types: CATALOGUE_TYPES });

/** Enrolments are frequent: they drop only the course (its counts) and the learner they concern. */
const enrollmentChange = (p: { courseId: string; userId: string }): Invalidation => ({
  entities: [
    ['Course', p.courseId],
    ['User', p.userId],
  ],
});

export interface InvalidationRule {
  event: EventType;
  change: (payload: unknown) => Invalidation;
}

/** One row of the table: `change` is type-checked against its own event's payload. */
function rule<E extends EventType>(event: E, change: (payload: EventPayload<E>) => Invalidation): InvalidationRule {
  // parseEvent(msg, event) decodes with this very event's schema, so the payload has its shape.
  return { event, change: (payload) => change(payload as EventPayload<E>) };
}

export const INVALIDATIONS: ReadonlyArray<InvalidationRule> = [
  rule(CourseEvents.published, courseChange),
  rule(CourseEvents.updated, courseChange),
  rule(CourseEvents.archived, courseChange),
  rule(CourseEvents.lessonChanged, courseChange),
  rule(EnrollmentEvents.created, enrollmentChange),
  rule(EnrollmentEvents.revoked, enrollmentChange),
  rule(EnrollmentEvents.courseCompleted, enrollmentChange),
  // A certificate looked up before it existed was cached as null.
  rule(EnrollmentEvents.certificateIssued, (p) => ({ entities: [['User', p.userId]], types: ['Certificate'] })),
  rule(EnrollmentEvents.certificateRevoked, (p) => ({ entities: [['User', p.userId]], types: ['Certificate'] })),
  rule(IdentityEvents.userRegistered, (p) => ({ entities: [['User', p.userId]] })),
  rule(IdentityEvents.userDeactivated, (p) => ({ entities: [['User', p.userId]] })),
];

export interface CacheInvalidation {
  close(): Promise<void>;
}

/** What the table drives: the response cache, and the entity cache (gateway/src/entity-cache). */
export interface InvalidatedCache {
  /** Drops what `change` (event `eventId`'s) touches. */
  invalidate(change: Invalidation, eventId: string): unknown;
  /** Drops everything. */
  clear(): void;
  /** Off while changes may be missed (the feed is down): nothing served or kept. */
  setEnabled(enabled: boolean): unknown;
}

/** Subscribes to every event of the table; resolves once the server has the subscriptions. */
export async function startCacheInvalidation(
  nc: NatsConnection,
  cache: InvalidatedCache,
  logger: Logger,
): Promise<CacheInvalidation> {
  const subscriptions: Subscription[] = INVALIDATIONS.map(({ event, change }) =>
    nc.subscribe(event.subject, {
      callback: (err, msg) => {
        if (err) {
          logger.warn({ subject: event.subject, err: err.message }, 'cache invalidation feed failed; cache off');
          cache.setEnabled(false);
          return;
        }
        try {
          const received = parseEvent(
            { subject: msg.subject, headers: msg.headers, data: msg.data, streamSequence: 0, deliveryCount: 1 },
            event,
          );
          void cache.invalidate(change(received.payload), received.id);
          logger.debug({ subject: msg.subject, eventId: received.id }, 'cache invalidated');
        } catch (parseError) {
          // A change we cannot read could be any change.
          cache.clear();
          logger.warn(
            { subject: msg.subject, err: (parseError as Error).message },
            'cache: unreadable event; cache cleared',
          );
        }
      },
    }),
  );
  await nc.flush();
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') cache.setEnabled(false);
      else if (status.type === 'reconnect') cache.setEnabled(true);
    }
  })();
  return {
    async close() {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
