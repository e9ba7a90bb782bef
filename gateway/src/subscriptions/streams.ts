/**
 * What each subscription field streams: its event contract (hence NATS subject and stream), who may
 * subscribe, the event type's own fields, and its entity fields with the supergraph query field
 * that loads each entity by id (the gateway resolves those through the supergraph).
 *
 * Each stream is written against its own event's payload type (`defineStream`), so a field read
 * from a payload that its event does not carry fails to compile.
 */
import {
  AiEvents,
  CourseEvents,
  EnrollmentEvents,
  NotificationEvents,
  PaymentEvents,
  enrollment,
} from '@coursegraph/contracts';
import type { EventPayload, EventType, ReceivedEvent } from '@coursegraph/service-kit';

/** An entity field of an event type: the root query field that loads it and the id to load. */
export interface EntityField<Payload> {
  /** A `Query` field of the supergraph taking `id: ID!` (e.g. `course`, `order`, `user`). */
  queryField: string;
  id: (payload: Payload) => string;
}

/** Who may subscribe: `staff`, the ADMIN role (every event); `owner`, signed-in users (their own events only, `ownerOf` says whose). */
type Access<OwnerOf> = { access: 'staff' } | { access: 'owner'; ownerOf: OwnerOf };

/** A stream as written, for event `E`: every function gets `E`'s payload. */
export type StreamSpec<E extends EventType> = {
  event: E;
  /** Values of the event type's scalar fields (besides `position` and `occurredAt`). */
  fields: (payload: EventPayload<E>) => Record<string, unknown>;
  entities: Record<string, EntityField<EventPayload<E>>>;
} & Access<(payload: EventPayload<E>) => string>;

/** A stream as the engine uses it, whatever its event: it takes received events of its own contract. */
export type StreamDefinition = {
  event: EventType;
  /** The Query field that loads each entity field. */
  entities: Record<string, { queryField: string }>;
  /** The root value of one event's execution. */
  value: (position: string, event: ReceivedEvent) => EventValue;
} & Access<(event: ReceivedEvent) => string>;

/** The value an event type's fields are read from (the root value of one event's execution). */
export interface EventValue {
  position: string;
  occurredAt: string;
  /** Ids of the entity fields, by field name ('' when the event has none). */
  entityIds: Record<string, string>;
  [field: string]: unknown;
}

export function defineStream<E extends EventType>(spec: StreamSpec<E>): StreamDefinition {
  // The hub decodes a stream's events with this very contract (`spec.event`), so their payload is
  // E's: asserted here once, as the kit's `on()` does for consumers, instead of in every reader.
  const payloadOf = (event: ReceivedEvent) => event.payload as EventPayload<E>;
  const value = (position: string, event: ReceivedEvent): EventValue => {
    const payload = payloadOf(event);
    const entityIds = Object.fromEntries(
      Object.entries(spec.entities).map(([field, entity]) => [field, entity.id(payload)]),
    );
    return { ...spec.fields(payload), position, occurredAt: event.time, entityIds };
  };
  const common = { event: spec.event, entities: spec.entities, value };
  if (spec.access === 'staff') return { ...common, access: 'staff' };
  const { ownerOf } = spec;
  return { ...common, access: 'owner', ownerOf: (event) => ownerOf(payloadOf(event)) };
}

const user: EntityField<{ userId: string }> = { queryField: 'user', id: (p) => p.userId };
const course: EntityField<{ courseId: string }> = { queryField: 'course', id: (p) => p.courseId };

const modeName = (mode: enrollment.EnrollmentMode): string =>
  (enrollment.EnrollmentMode[mode] ?? 'UNSPECIFIED').replace(/^ENROLLMENT_MODE_/, '');

/** Keyed by the Subscription field name (subscriptions.graphql). */
export const STREAMS: Record<string, StreamDefinition> = {
  notificationAdded: defineStream({
    event: NotificationEvents.created,
    access: 'owner',
    ownerOf: (p) => p.userId,
    fields: (p) => ({
      notificationId: p.notificationId,
      type: p.type,
      category: p.category,
      title: p.title,
      body: p.body,
    }),
    entities: { course, notification: { queryField: 'notification', id: (p) => p.notificationId } },
  }),
  orderPaid: defineStream({
    event: PaymentEvents.succeeded,
    access: 'staff',
    fields: (p) => ({ orderId: p.orderId, userId: p.userId, courseId: p.courseId }),
    entities: { order: { queryField: 'order', id: (p) => p.orderId }, user, course },
  }),
  enrollmentCreated: defineStream({
    event: EnrollmentEvents.created,
    access: 'staff',
    fields: (p) => ({ enrollmentId: p.enrollmentId, userId: p.userId, courseId: p.courseId, mode: modeName(p.mode) }),
    entities: { user, course },
  }),
  courseCompleted: defineStream({
    event: EnrollmentEvents.courseCompleted,
    access: 'staff',
    fields: (p) => ({ enrollmentId: p.enrollmentId, userId: p.userId, courseId: p.courseId }),
    entities: { user, course },
  }),
  coursePublished: defineStream({
    event: CourseEvents.published,
    access: 'staff',
    fields: (p) => ({ courseId: p.course?.courseId ?? '', version: p.course?.version ?? 0 }),
    entities: { course: { queryField: 'course', id: (p) => p.course?.courseId ?? '' } },
  }),
  tutorReply: defineStream({
    event: AiEvents.tutorReply,
    access: 'owner',
    ownerOf: (p) => p.userId,
    fields: (p) => ({
      conversationId: p.conversationId,
      turnId: p.turnId,
      lessonId: p.lessonId,
      seq: p.seq,
      text: p.text,
      done: p.done,
      tier: p.tier || null,
      fallbackReason: p.fallbackReason || null,
    }),
    entities: {},
  }),
};
