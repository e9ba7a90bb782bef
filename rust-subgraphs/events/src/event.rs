//! Which payload message goes with which subject, and reading a payload safely.

use prost::{Message, Name};

use crate::contracts::{
    ai, course, enrollment, flags, gateway, identity, learning, notification, payment, video,
};
use crate::{EventError, Subject};

/// A payload message that is an event: published on exactly one subject, [`Event::SUBJECT`].
///
/// Implemented for every event of the contracts in `schema/events/` (see
/// [`crate::contracts`]). The message's proto package is `coursegraph.<context>.v1`, where
/// `<context>` is the subject's context (its first segment), and the message is named after the
/// subject's entity and event: `course.lesson.changed` is `coursegraph.course.v1.LessonChanged`.
pub trait Event: Message + Name + Default {
    /// The subject this event is published on, `<context>.<entity>.<event>`; also the
    /// envelope's `ce-type`.
    const SUBJECT: &'static str;
}

/// Reads the payload of an event that arrived on `subject` as an `E`.
///
/// The subject is checked first: protobuf bytes do not say which message they encode, and the
/// bytes of one message often decode without error as another, so decoding alone would not
/// catch a consumer reading the wrong subject. Fields unknown to `E` (added by a newer
/// producer) are skipped; absent fields take their default values.
///
/// ```
/// use coursegraph_events::contracts::course::v1::CourseArchived;
/// use coursegraph_events::{decode_event, EventError, Subject};
/// use prost::Message;
///
/// let payload = CourseArchived {
///     course_id: "c1".into(),
///     archived_at: "2025-01-31T12:34:56.789Z".into(),
/// }
/// .encode_to_vec();
/// let subject = Subject::parse("course.course.archived")?;
/// let event: CourseArchived = decode_event(&subject, &payload)?;
/// assert_eq!(event.course_id, "c1");
/// # Ok::<(), EventError>(())
/// ```
///
/// # Errors
/// [`EventError::SubjectMismatch`] when `subject` is not `E::SUBJECT`;
/// [`EventError::Decode`] when `payload` is not a valid encoding of `E`.
pub fn decode_event<E: Event>(subject: &Subject, payload: &[u8]) -> Result<E, EventError> {
    if subject.as_str() != E::SUBJECT {
        return Err(EventError::SubjectMismatch {
            subject: subject.as_str().to_owned(),
            message: E::full_name(),
            expected: E::SUBJECT,
        });
    }
    E::decode(payload).map_err(|reason| EventError::Decode {
        subject: E::SUBJECT,
        message: E::full_name(),
        reason,
    })
}

/// Implements [`Event`] for each `message => subject`, and lists them for the tests.
macro_rules! events {
    ($($message:ty => $subject:literal,)+) => {
        $(
            impl Event for $message {
                const SUBJECT: &'static str = $subject;
            }
        )+

        /// `(package, message name, subject)` of every [`Event`] implementation.
        #[cfg(test)]
        const IMPLEMENTED: &[(&str, &str, &str)] = &[
            $((<$message as Name>::PACKAGE, <$message as Name>::NAME, $subject),)+
        ];
    };
}

events! {
    course::v1::CourseCreated => "course.course.created",
    course::v1::CoursePublished => "course.course.published",
    course::v1::CourseUpdated => "course.course.updated",
    course::v1::CourseArchived => "course.course.archived",
    course::v1::LessonChanged => "course.lesson.changed",
    payment::v1::PaymentSucceeded => "payment.payment.succeeded",
    payment::v1::PaymentFailed => "payment.payment.failed",
    payment::v1::RefundIssued => "payment.refund.issued",
    enrollment::v1::EnrollmentCreated => "enrollment.enrollment.created",
    enrollment::v1::EnrollmentRejected => "enrollment.enrollment.rejected",
    enrollment::v1::EnrollmentRevoked => "enrollment.enrollment.revoked",
    enrollment::v1::LessonCompleted => "enrollment.lesson.completed",
    enrollment::v1::CourseCompleted => "enrollment.course.completed",
    enrollment::v1::CertificateIssued => "enrollment.certificate.issued",
    enrollment::v1::CertificateRevoked => "enrollment.certificate.revoked",
    identity::v1::UserRegistered => "identity.user.registered",
    identity::v1::UserDeactivated => "identity.user.deactivated",
    identity::v1::EmailVerificationRequested => "identity.email.verification_requested",
    identity::v1::EmailVerified => "identity.email.verified",
    identity::v1::PartnerChanged => "identity.partner.changed",
    notification::v1::NotificationCreated => "notification.notification.created",
    learning::v1::ReviewLogged => "learning.review.logged",
    learning::v1::QuizGraded => "learning.quiz.graded",
    learning::v1::QuizPassed => "learning.quiz.passed",
    learning::v1::MasteryChanged => "learning.mastery.changed",
    learning::v1::QuizPublished => "learning.quiz.published",
    learning::v1::CardsDue => "learning.cards.due",
    learning::v1::AttemptStarted => "learning.attempt.started",
    learning::v1::AttemptClosed => "learning.attempt.closed",
    video::v1::VideoReady => "video.video.ready",
    video::v1::VideoFailed => "video.video.failed",
    video::v1::CaptionsChanged => "video.captions.changed",
    ai::v1::MaterialApproved => "ai.material.approved",
    ai::v1::TutorReply => "ai.tutor.reply",
    gateway::v1::UsageReported => "gateway.usage.reported",
    flags::v1::FlagChanged => "flags.flag.changed",
    flags::v1::ExposureReported => "flags.exposure.reported",
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use course::v1::{
        CourseArchived, CourseLevel, CoursePublished, CourseSnapshot, Lesson, LessonKind, Money,
    };

    mod declared {
        include!(concat!(env!("OUT_DIR"), "/declared_events.rs"));
    }

    fn subject(s: &str) -> Subject {
        Subject::parse(s).unwrap()
    }

    fn snapshot() -> CourseSnapshot {
        CourseSnapshot {
            course_id: "0193a1b2-0000-7000-8000-000000000001".into(),
            version: 3,
            instructor_id: "0193a1b2-0000-7000-8000-000000000002".into(),
            title: "Rust for TypeScript developers".into(),
            slug: "rust-for-typescript-developers".into(),
            summary: "Ownership without tears".into(),
            description: "Long text, «ünïcode» included.".into(),
            category: "programming".into(),
            tags: vec!["rust".into(), "typescript".into()],
            level: CourseLevel::Intermediate.into(),
            language: "en".into(),
            price: Some(Money {
                amount_minor: 4_999,
                currency: "EUR".into(),
            }),
            prerequisite_course_ids: vec!["0193a1b2-0000-7000-8000-000000000003".into()],
            lessons: vec![Lesson {
                lesson_id: "l1".into(),
                module_id: "m1".into(),
                module_title: "Basics".into(),
                title: "Borrowing".into(),
                kind: LessonKind::Video.into(),
                position: 0,
                required: true,
                body_text: "A video about borrowing.".into(),
                duration_seconds: 600,
                free_preview: true,
            }],
            published_at: "2025-01-31T12:34:56.789Z".into(),
            instructor_name: "Ferris".into(),
        }
    }

    #[test]
    fn round_trips_through_decode_event() {
        let published = CoursePublished {
            course: Some(snapshot()),
        };
        let payload = published.encode_to_vec();
        let decoded: CoursePublished =
            decode_event(&subject("course.course.published"), &payload).unwrap();
        assert_eq!(decoded, published);
        let course = decoded.course.unwrap();
        assert_eq!(course.level(), CourseLevel::Intermediate);
        assert_eq!(course.lessons[0].kind(), LessonKind::Video);

        // An empty payload is a message with every field at its default (proto3).
        let empty: CourseArchived = decode_event(&subject("course.course.archived"), &[]).unwrap();
        assert_eq!(empty, CourseArchived::default());
    }

    #[test]
    fn wrong_subject_is_rejected_before_decoding() {
        // Valid CourseArchived bytes, but they arrived on another subject.
        let payload = CourseArchived {
            course_id: "c1".into(),
            archived_at: "t".into(),
        }
        .encode_to_vec();
        assert_eq!(
            decode_event::<CourseArchived>(&subject("course.course.published"), &payload),
            Err(EventError::SubjectMismatch {
                subject: "course.course.published".to_owned(),
                message: "coursegraph.course.v1.CourseArchived".to_owned(),
                expected: "course.course.archived",
            })
        );
        // Decoding alone would have "worked", with the wrong meaning: CourseCompleted's fields
        // 1 and 2 are strings too. Hence the subject check.
        let misread = enrollment::v1::CourseCompleted::decode(payload.as_slice()).unwrap();
        assert_eq!(misread.enrollment_id, "c1");
        let err = decode_event::<enrollment::v1::CourseCompleted>(
            &subject("course.course.archived"),
            &payload,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "payload on subject `course.course.archived` cannot be read as \
             coursegraph.enrollment.v1.CourseCompleted, the event of subject \
             `enrollment.course.completed`"
        );
    }

    #[test]
    fn malformed_payloads_are_decode_errors() {
        let cases: [(&str, &[u8]); 4] = [
            ("truncated varint", &[0xff, 0xff, 0xff]),
            ("length beyond the end", &[0x0a, 0x05, b'c']),
            ("invalid wire type", &[0x0f]),
            ("string not UTF-8", &[0x0a, 0x02, 0xff, 0xfe]),
        ];
        for (case, payload) in cases {
            let err = decode_event::<CourseArchived>(&subject("course.course.archived"), payload)
                .unwrap_err();
            let EventError::Decode {
                subject, message, ..
            } = &err
            else {
                panic!("{case}: expected a Decode error, got {err:?}");
            };
            assert_eq!(*subject, "course.course.archived", "{case}");
            assert_eq!(message, "coursegraph.course.v1.CourseArchived", "{case}");
            assert!(
                err.to_string().starts_with(
                    "payload of `course.course.archived` is not a valid \
                     coursegraph.course.v1.CourseArchived: "
                ),
                "{case}: {err}"
            );
        }
    }

    /// Field numbers and wire types are the contract with the TypeScript producers; these
    /// encodings are computed by hand from the `.proto` files, not by prost.
    #[test]
    fn encodings_are_pinned_to_the_proto_field_numbers() {
        let archived = CourseArchived {
            course_id: "c1".into(),
            archived_at: "t".into(),
        };
        // field 1 (course_id), length-delimited: tag 0x0a; field 2 (archived_at): tag 0x12.
        let bytes = [0x0a, 0x02, b'c', b'1', 0x12, 0x01, b't'];
        assert_eq!(archived.encode_to_vec(), bytes);
        assert_eq!(
            decode_event::<CourseArchived>(&subject("course.course.archived"), &bytes).unwrap(),
            archived
        );

        // Nested message, int64 varint, enum and bool.
        let refund = payment::v1::RefundIssued {
            refund_id: "r".into(),
            amount: Some(payment::v1::Money {
                amount_minor: 1_999,
                currency: "USD".into(),
            }),
            full: true,
            ..Default::default()
        };
        let bytes = [
            0x0a, 0x01, b'r', // field 1 refund_id
            0x2a, 0x08, // field 5 amount, 8 bytes:
            0x08, 0xcf, 0x0f, //   field 1 amount_minor = 1999 (varint)
            0x12, 0x03, b'U', b'S', b'D', //   field 2 currency
            0x30, 0x01, // field 6 full = true
        ];
        assert_eq!(refund.encode_to_vec(), bytes);

        let created = enrollment::v1::EnrollmentCreated {
            mode: enrollment::v1::EnrollmentMode::Paid.into(),
            ..Default::default()
        };
        // field 4 mode, varint: ENROLLMENT_MODE_PAID = 3.
        assert_eq!(created.encode_to_vec(), [0x20, 0x03]);
    }

    #[test]
    fn unknown_fields_from_a_newer_producer_are_skipped() {
        // CourseArchived { course_id: "c1" } followed by field 99 (varint 1), which a newer
        // contract might add: tag (99 << 3) | 0 = 792 = varint 0x98 0x06.
        let payload = [0x0a, 0x02, b'c', b'1', 0x98, 0x06, 0x01];
        let decoded: CourseArchived =
            decode_event(&subject("course.course.archived"), &payload).unwrap();
        assert_eq!(decoded.course_id, "c1");
    }

    #[test]
    fn every_subject_is_valid_and_matches_its_message() {
        for &(package, name, subject) in IMPLEMENTED {
            let parsed = Subject::parse(subject).unwrap();
            assert_eq!(
                package,
                format!("coursegraph.{}.v1", parsed.context()),
                "{subject}: the message's package must be its context's"
            );
            assert_eq!(
                name,
                format!("{}{}", pascal(parsed.entity()), pascal(parsed.event())),
                "{subject}: the message is named after entity and event"
            );
        }
        let subjects: BTreeSet<&str> = IMPLEMENTED.iter().map(|&(_, _, s)| s).collect();
        assert_eq!(subjects.len(), IMPLEMENTED.len(), "a subject is used twice");
    }

    /// Guards against a new event in the `.proto` files without an [`Event`] implementation,
    /// and against an implementation whose subject differs from the one in the contract.
    #[test]
    fn every_event_declared_in_the_contracts_is_implemented() {
        let declared: BTreeSet<_> = declared::DECLARED_EVENTS.iter().copied().collect();
        let implemented: BTreeSet<_> = IMPLEMENTED.iter().copied().collect();
        let missing: Vec<_> = declared.difference(&implemented).collect();
        assert!(
            missing.is_empty(),
            "events declared in schema/events/ without an `Event` impl (or with another \
             subject): {missing:?}"
        );
        let extra: Vec<_> = implemented.difference(&declared).collect();
        assert!(
            extra.is_empty(),
            "`Event` impls without a matching `// <subject>: ...` message in schema/events/: \
             {extra:?}"
        );
    }

    fn pascal(segment: &str) -> String {
        segment
            .split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect()
    }
}
