/**
 * What each subscription field streams: its event contract (hence NATS subject and stream), who may
 * subscribe, the event type's own fields, and its entity fields with the supergraph query field
 * that loads each entity by id (the gateway resolves those through the supergraph).
 */
import { CourseEvents, EnrollmentEvents, NotificationEvents, PaymentEvents, enrollment } from '@coursegraph/contracts';
import type { EventType, ReceivedEvent } from '@coursegraph/service-kit';

/** An entity field of an event type: the root query field that loads it and the id to load. */
export interface EntityField {
  /** A `Query` field of the supergraph taking `id: ID!` (e.g. `course`, `order`, `user`). */
  queryField: string;
  id: (payload: any) => string;
}

export interface StreamDefinition {
  event: EventType;
  /** `owner`: signed-in users receive their own events only; `staff`: the ADMIN role. */
  access: 'owner' | 'staff';
  /** The user an event belongs to (owner streams). */
  ownerOf?: (payload: any) => string;
  /** Values of the event type's scalar fields (besides `position` and `occurredAt`). */
  fields: (payload: any) => Record<string, unknown>;
  entities: Record<string, EntityField>;
}

const user: EntityField = { queryField: 'user', id: (p) => p.userId };
const course: EntityField = { queryField: 'course', id: (p) => p.courseId };

const modeName = (mode: enrollment.EnrollmentMode): string =>
  (enrollment.EnrollmentMode[mode] ?? 'UNSPECIFIED').replace(/^ENROLLMENT_MODE_/, '');

/** Keyed by the Subscription field name (subscriptions.graphql). */
export const STREAMS: Record<string, StreamDefinition> = {
  notificationAdded: {
    event: NotificationEvents.created,
    access: 'owner',
    ownerOf: (p) => p.userId,
    fields: (p) => ({ notificationId: p.notificationId, type: p.type, category: p.category, title: p.title, body: p.body }),
    entities: { course: { queryField: 'course', id: (p) => p.courseId }, notification: { queryField: 'notification', id: (p) => p.notificationId } },
  },
  orderPaid: {
    event: PaymentEvents.succeeded,
    access: 'staff',
    fields: (p) => ({ orderId: p.orderId, userId: p.userId, courseId: p.courseId }),
    entities: { order: { queryField: 'order', id: (p) => p.orderId }, user, course },
  },
  enrollmentCreated: {
    event: EnrollmentEvents.created,
    access: 'staff',
    fields: (p) => ({ enrollmentId: p.enrollmentId, userId: p.userId, courseId: p.courseId, mode: modeName(p.mode) }),
    entities: { user, course },
  },
  courseCompleted: {
    event: EnrollmentEvents.courseCompleted,
    access: 'staff',
    fields: (p) => ({ enrollmentId: p.enrollmentId, userId: p.userId, courseId: p.courseId }),
    entities: { user, course },
  },
  coursePublished: {
    event: CourseEvents.published,
    access: 'staff',
    fields: (p) => ({ courseId: p.course?.courseId ?? '', version: p.course?.version ?? 0 }),
    entities: { course: { queryField: 'course', id: (p) => p.course?.courseId ?? '' } },
  },
};

/** The value an event type's fields are read from (the root value of one event's execution). */
export interface EventValue {
  position: string;
  occurredAt: string;
  /** Ids of the entity fields, by field name ('' when the event has none). */
  entityIds: Record<string, string>;
  [field: string]: unknown;
}

export function eventValue(definition: StreamDefinition, position: string, event: ReceivedEvent): EventValue {
  const payload = event.payload as unknown;
  const entityIds = Object.fromEntries(Object.entries(definition.entities).map(([field, entity]) => [field, entity.id(payload)]));
  return { ...definition.fields(payload), position, occurredAt: event.time, entityIds };
}
