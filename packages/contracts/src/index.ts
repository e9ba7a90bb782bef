/**
 * Every event of the platform: its subject and its protobuf message (generated from
 * schema/events/ by `npm run generate`). Producers and consumers refer to events only through here.
 */
import { defineEvent } from '@coursegraph/service-kit';
import {
  CourseArchivedSchema,
  CourseCreatedSchema,
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
  LessonCompletedSchema,
} from './generated/coursegraph/enrollment/v1/enrollment_pb.js';
import {
  EmailVerificationRequestedSchema,
  EmailVerifiedSchema,
  PartnerChangedSchema,
  UserDeactivatedSchema,
  UserRegisteredSchema,
} from './generated/coursegraph/identity/v1/identity_pb.js';
import { NotificationCreatedSchema } from './generated/coursegraph/notification/v1/notification_pb.js';
import {
  AttemptClosedSchema,
  AttemptStartedSchema,
  CardsDueSchema,
  MasteryChangedSchema,
  QuizGradedSchema,
  QuizPassedSchema,
  QuizPublishedSchema,
  ReviewLoggedSchema,
} from './generated/coursegraph/learning/v1/learning_pb.js';
import {
  CaptionsChangedSchema,
  VideoFailedSchema,
  VideoReadySchema,
} from './generated/coursegraph/video/v1/video_pb.js';
import { MaterialApprovedSchema, TutorReplySchema } from './generated/coursegraph/ai/v1/ai_pb.js';
import { UsageReportedSchema } from './generated/coursegraph/gateway/v1/gateway_pb.js';
import { ExposureReportedSchema, FlagChangedSchema } from './generated/coursegraph/flags/v1/flags_pb.js';

export * as course from './generated/coursegraph/course/v1/course_pb.js';
export * as payment from './generated/coursegraph/payment/v1/payment_pb.js';
export * as enrollment from './generated/coursegraph/enrollment/v1/enrollment_pb.js';
export * as identity from './generated/coursegraph/identity/v1/identity_pb.js';
export * as notification from './generated/coursegraph/notification/v1/notification_pb.js';
export * as learning from './generated/coursegraph/learning/v1/learning_pb.js';
export * as video from './generated/coursegraph/video/v1/video_pb.js';
export * as ai from './generated/coursegraph/ai/v1/ai_pb.js';
export * as gateway from './generated/coursegraph/gateway/v1/gateway_pb.js';
export * as flags from './generated/coursegraph/flags/v1/flags_pb.js';

export const CourseEvents = {
  created: defineEvent('course.course.created', CourseCreatedSchema),
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
  lessonCompleted: defineEvent('enrollment.lesson.completed', LessonCompletedSchema),
  courseCompleted: defineEvent('enrollment.course.completed', CourseCompletedSchema),
  certificateIssued: defineEvent('enrollment.certificate.issued', CertificateIssuedSchema),
  certificateRevoked: defineEvent('enrollment.certificate.revoked', CertificateRevokedSchema),
};

export const IdentityEvents = {
  userRegistered: defineEvent('identity.user.registered', UserRegisteredSchema),
  userDeactivated: defineEvent('identity.user.deactivated', UserDeactivatedSchema),
  emailVerificationRequested: defineEvent('identity.email.verification_requested', EmailVerificationRequestedSchema),
  emailVerified: defineEvent('identity.email.verified', EmailVerifiedSchema),
  partnerChanged: defineEvent('identity.partner.changed', PartnerChangedSchema),
};

export const GatewayEvents = {
  usageReported: defineEvent('gateway.usage.reported', UsageReportedSchema),
};

export const NotificationEvents = {
  created: defineEvent('notification.notification.created', NotificationCreatedSchema),
};

export const LearningEvents = {
  reviewLogged: defineEvent('learning.review.logged', ReviewLoggedSchema),
  quizGraded: defineEvent('learning.quiz.graded', QuizGradedSchema),
  quizPassed: defineEvent('learning.quiz.passed', QuizPassedSchema),
  masteryChanged: defineEvent('learning.mastery.changed', MasteryChangedSchema),
  quizPublished: defineEvent('learning.quiz.published', QuizPublishedSchema),
  cardsDue: defineEvent('learning.cards.due', CardsDueSchema),
  attemptStarted: defineEvent('learning.attempt.started', AttemptStartedSchema),
  attemptClosed: defineEvent('learning.attempt.closed', AttemptClosedSchema),
};

export const VideoEvents = {
  ready: defineEvent('video.video.ready', VideoReadySchema),
  failed: defineEvent('video.video.failed', VideoFailedSchema),
  captionsChanged: defineEvent('video.captions.changed', CaptionsChangedSchema),
};

export const AiEvents = {
  materialApproved: defineEvent('ai.material.approved', MaterialApprovedSchema),
  tutorReply: defineEvent('ai.tutor.reply', TutorReplySchema),
};

export const FlagsEvents = {
  changed: defineEvent('flags.flag.changed', FlagChangedSchema),
  exposureReported: defineEvent('flags.exposure.reported', ExposureReportedSchema),
};
