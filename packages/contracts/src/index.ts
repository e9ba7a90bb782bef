/**
 * Every event of the platform: its subject and its protobuf message (generated from
 * schema/events/ by `npm run generate`). Producers and consumers refer to events only through here.
 */
import { defineEvent } from '@coursegraph/service-kit';
import {
  CourseArchivedSchema,
  CoursePublishedSchema,
  CourseUpdatedSchema,
  LessonChangedSchema,
} from './generated/coursegraph/course/v1/course_pb.js';
import {
  PaymentFailedSchema,
  PaymentSucceededSchema,
  RefundIssuedSchema,
} from './generated/coursegraph/payment/v1/payment_pb.js';
import {
  CertificateIssuedSchema,
  CertificateRevokedSchema,
  CourseCompletedSchema,
  EnrollmentCreatedSchema,
  EnrollmentRejectedSchema,
  EnrollmentRevokedSchema,
} from './generated/coursegraph/enrollment/v1/enrollment_pb.js';
import {
  EmailVerificationRequestedSchema,
  EmailVerifiedSchema,
  UserDeactivatedSchema,
  UserRegisteredSchema,
} from './generated/coursegraph/identity/v1/identity_pb.js';
import { NotificationCreatedSchema } from './generated/coursegraph/notification/v1/notification_pb.js';

export * as course from './generated/coursegraph/course/v1/course_pb.js';
export * as payment from './generated/coursegraph/payment/v1/payment_pb.js';
export * as enrollment from './generated/coursegraph/enrollment/v1/enrollment_pb.js';
export * as identity from './generated/coursegraph/identity/v1/identity_pb.js';
export * as notification from './generated/coursegraph/notification/v1/notification_pb.js';

export const CourseEvents = {
  published: defineEvent('course.course.published', CoursePublishedSchema),
  updated: defineEvent('course.course.updated', CourseUpdatedSchema),
  archived: defineEvent('course.course.archived', CourseArchivedSchema),
  lessonChanged: defineEvent('course.lesson.changed', LessonChangedSchema),
};

export const PaymentEvents = {
  succeeded: defineEvent('payment.payment.succeeded', PaymentSucceededSchema),
  failed: defineEvent('payment.payment.failed', PaymentFailedSchema),
  refundIssued: defineEvent('payment.refund.issued', RefundIssuedSchema),
};

export const EnrollmentEvents = {
  created: defineEvent('enrollment.enrollment.created', EnrollmentCreatedSchema),
  rejected: defineEvent('enrollment.enrollment.rejected', EnrollmentRejectedSchema),
  revoked: defineEvent('enrollment.enrollment.revoked', EnrollmentRevokedSchema),
  courseCompleted: defineEvent('enrollment.course.completed', CourseCompletedSchema),
  certificateIssued: defineEvent('enrollment.certificate.issued', CertificateIssuedSchema),
  certificateRevoked: defineEvent('enrollment.certificate.revoked', CertificateRevokedSchema),
};

export const IdentityEvents = {
  userRegistered: defineEvent('identity.user.registered', UserRegisteredSchema),
  userDeactivated: defineEvent('identity.user.deactivated', UserDeactivatedSchema),
  emailVerificationRequested: defineEvent('identity.email.verification_requested', EmailVerificationRequestedSchema),
  emailVerified: defineEvent('identity.email.verified', EmailVerifiedSchema),
};

export const NotificationEvents = {
  created: defineEvent('notification.notification.created', NotificationCreatedSchema),
};
