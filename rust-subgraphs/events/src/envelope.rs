//! The metadata every event message carries, and its mapping to message headers.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::{Uuid, Variant};

use crate::headers::{HeaderLookup, CE_SOURCE, CE_TIME, CE_TYPE, MSG_ID, TRACEPARENT};
use crate::subject::check_segment;
use crate::{EventError, Subject, TraceParent};

/// The envelope of one event: id, type, source, time and trace parent.
///
/// The payload (a protobuf message of [`crate::contracts`], read with [`crate::decode_event`])
/// travels in the message body; the envelope travels in the headers listed in
/// [`crate::headers`]. An `Envelope` is valid by construction: the id is a UUID v7, the time
/// is UTC with millisecond precision, and the source is the event type's context.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Envelope {
    id: Uuid,
    event_type: Subject,
    time: OffsetDateTime,
    traceparent: TraceParent,
}

impl Envelope {
    /// A new event of type `event_type` happening now: a fresh UUID v7 id and the current
    /// UTC time, truncated to milliseconds.
    pub fn new(event_type: Subject, traceparent: TraceParent) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type,
            time: truncate_to_millis(OffsetDateTime::now_utc()),
            traceparent,
        }
    }

    /// An envelope from known parts, e.g. an outbox row being relayed. `time` is converted to
    /// UTC and truncated to milliseconds.
    ///
    /// # Errors
    /// [`EventError::EventIdNotV7`] when `id` is not a UUID v7; [`EventError::InvalidTime`]
    /// when `time` falls outside years 0000 to 9999 in UTC (RFC 3339 cannot express it).
    pub fn from_parts(
        id: Uuid,
        event_type: Subject,
        time: OffsetDateTime,
        traceparent: TraceParent,
    ) -> Result<Self, EventError> {
        check_v7(id, || id.hyphenated().to_string())?;
        let time = normalize_time(time, || time.to_string())?;
        Ok(Self {
            id,
            event_type,
            time,
            traceparent,
        })
    }

    /// Reads and validates the envelope from message headers (see [`crate::headers`]).
    ///
    /// Headers are checked in the order `Nats-Msg-Id`, `ce-type`, `ce-source`, `ce-time`,
    /// `traceparent`; the first problem is returned.
    ///
    /// # Errors
    /// [`EventError::MissingHeader`] naming the absent header, or the specific error of the
    /// first malformed one: [`EventError::MalformedEventId`] / [`EventError::EventIdNotV7`],
    /// a subject error for `ce-type`, [`EventError::InvalidSource`] /
    /// [`EventError::SourceMismatch`], [`EventError::InvalidTime`], or a traceparent error.
    pub fn from_headers<H: HeaderLookup + ?Sized>(headers: &H) -> Result<Self, EventError> {
        let required =
            |name: &'static str| headers.get(name).ok_or(EventError::MissingHeader { name });

        let id = parse_id(required(MSG_ID)?)?;
        let event_type = Subject::parse(required(CE_TYPE)?)?;
        check_source(required(CE_SOURCE)?, &event_type)?;
        let time = parse_time(required(CE_TIME)?)?;
        let traceparent = TraceParent::parse(required(TRACEPARENT)?)?;
        Ok(Self {
            id,
            event_type,
            time,
            traceparent,
        })
    }

    /// The envelope as `(name, value)` header pairs, in the order of [`crate::headers`].
    pub fn to_headers(&self) -> Vec<(String, String)> {
        vec![
            (MSG_ID.to_owned(), self.id.hyphenated().to_string()),
            (CE_TYPE.to_owned(), self.event_type.to_string()),
            (CE_SOURCE.to_owned(), self.source().to_owned()),
            (CE_TIME.to_owned(), self.time_rfc3339()),
            (TRACEPARENT.to_owned(), self.traceparent.to_string()),
        ]
    }

    /// The event id (UUID v7), also the JetStream de-duplication id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The event type, i.e. its subject.
    pub fn event_type(&self) -> &Subject {
        &self.event_type
    }

    /// The producing context: the event type's first segment.
    pub fn source(&self) -> &str {
        self.event_type.context()
    }

    /// When the event happened, in UTC with millisecond precision.
    pub fn time(&self) -> OffsetDateTime {
        self.time
    }

    /// [`Envelope::time`] as RFC 3339 with exactly three fraction digits and `Z`,
    /// e.g. `2025-01-31T12:34:56.789Z` (the form JavaScript's `Date#toISOString` writes).
    pub fn time_rfc3339(&self) -> String {
        let t = self.time;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// The W3C trace parent the consumer continues its trace from.
    pub fn traceparent(&self) -> &TraceParent {
        &self.traceparent
    }
}

/// Accepts only the canonical form (lowercase, hyphenated), so that re-publishing an event
/// yields the very same `Nats-Msg-Id`.
fn parse_id(value: &str) -> Result<Uuid, EventError> {
    let malformed = || EventError::MalformedEventId {
        value: value.to_owned(),
    };
    if value.len() != 36 || value.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(malformed());
    }
    let id = Uuid::try_parse(value).map_err(|_| malformed())?;
    check_v7(id, || value.to_owned())?;
    Ok(id)
}

fn check_v7(id: Uuid, shown: impl FnOnce() -> String) -> Result<(), EventError> {
    let version = match id.get_variant() {
        Variant::RFC4122 => id.get_version_num(),
        _ => 0,
    };
    if version == 7 {
        Ok(())
    } else {
        Err(EventError::EventIdNotV7 {
            value: shown(),
            version,
        })
    }
}

fn check_source(source: &str, event_type: &Subject) -> Result<(), EventError> {
    if check_segment(source).is_err() {
        return Err(EventError::InvalidSource {
            value: source.to_owned(),
        });
    }
    if source != event_type.context() {
        return Err(EventError::SourceMismatch {
            value: source.to_owned(),
            context: event_type.context().to_owned(),
        });
    }
    Ok(())
}

/// Any RFC 3339 timestamp is accepted (any offset, any fraction digits); it is normalised.
fn parse_time(value: &str) -> Result<OffsetDateTime, EventError> {
    let time = OffsetDateTime::parse(value, &Rfc3339).map_err(|e| EventError::InvalidTime {
        value: value.to_owned(),
        reason: format!("not an RFC 3339 timestamp ({e})"),
    })?;
    normalize_time(time, || value.to_owned())
}

fn normalize_time(
    time: OffsetDateTime,
    shown: impl FnOnce() -> String,
) -> Result<OffsetDateTime, EventError> {
    time.checked_to_offset(UtcOffset::UTC)
        .filter(|utc| (0..=9999).contains(&utc.year()))
        .map(truncate_to_millis)
        .ok_or_else(|| EventError::InvalidTime {
            value: shown(),
            reason: "outside years 0000 to 9999 UTC".to_owned(),
        })
}

/// Drops sub-millisecond digits; never crosses a second, so it cannot overflow.
fn truncate_to_millis(time: OffsetDateTime) -> OffsetDateTime {
    time - Duration::nanoseconds(i64::from(time.nanosecond() % 1_000_000))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const ID: &str = "01936f2e-7b8a-7c3d-9e4f-0a1b2c3d4e5f";
    const V4_ID: &str = "9b2c6f8e-3d4a-4f1b-8c2d-1e5f6a7b8c9d";
    const TRACEPARENT_VALUE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn valid_headers() -> Vec<(String, String)> {
        [
            ("Nats-Msg-Id", ID),
            ("ce-type", "course.course.published"),
            ("ce-source", "course"),
            ("ce-time", "2025-01-31T12:34:56.789Z"),
            ("traceparent", TRACEPARENT_VALUE),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// `valid_headers` with header `name` set to `value`.
    fn with(name: &str, value: &str) -> Vec<(String, String)> {
        let mut headers = valid_headers();
        for (k, v) in &mut headers {
            if k == name {
                *v = value.to_owned();
            }
        }
        headers
    }

    fn traceparent() -> TraceParent {
        TraceParent::parse(TRACEPARENT_VALUE).unwrap()
    }

    #[test]
    fn reads_every_field_from_headers() {
        let envelope = Envelope::from_headers(&valid_headers()).unwrap();
        assert_eq!(envelope.id().to_string(), ID);
        assert_eq!(envelope.event_type().as_str(), "course.course.published");
        assert_eq!(envelope.source(), "course");
        assert_eq!(envelope.time().unix_timestamp(), 1_738_326_896);
        assert_eq!(envelope.time().millisecond(), 789);
        assert_eq!(envelope.time().offset(), UtcOffset::UTC);
        assert_eq!(envelope.traceparent().as_str(), TRACEPARENT_VALUE);
        // Same result from a map and from a slice.
        let map: HashMap<String, String> = valid_headers().into_iter().collect();
        assert_eq!(Envelope::from_headers(&map).unwrap(), envelope);
        assert_eq!(
            Envelope::from_headers(valid_headers().as_slice()).unwrap(),
            envelope
        );
    }

    #[test]
    fn round_trips_through_headers() {
        let subject = Subject::parse("enrollment.enrollment.completed").unwrap();
        let envelope = Envelope::new(subject, traceparent());
        let headers = envelope.to_headers();
        let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Nats-Msg-Id",
                "ce-type",
                "ce-source",
                "ce-time",
                "traceparent"
            ]
        );
        assert_eq!(Envelope::from_headers(&headers).unwrap(), envelope);
        // And the header values written from a parsed envelope are the ones read.
        assert_eq!(
            Envelope::from_headers(&valid_headers())
                .unwrap()
                .to_headers(),
            valid_headers()
        );
    }

    #[test]
    fn new_envelope_has_a_v7_id_and_millisecond_utc_time() {
        let a = Envelope::new(
            Subject::parse("video.video.transcoded").unwrap(),
            traceparent(),
        );
        let b = Envelope::new(
            Subject::parse("video.video.transcoded").unwrap(),
            traceparent(),
        );
        assert_eq!(a.id().get_version_num(), 7);
        assert_ne!(a.id(), b.id());
        assert!(a.id() < b.id(), "v7 ids are time-ordered");
        assert_eq!(a.time().nanosecond() % 1_000_000, 0);
        assert_eq!(a.time().offset(), UtcOffset::UTC);
        assert_eq!(a.source(), "video");
    }

    #[test]
    fn time_is_normalised_to_utc_milliseconds() {
        let headers = with("ce-time", "2025-01-31T14:34:56.789999+02:00");
        let envelope = Envelope::from_headers(&headers).unwrap();
        assert_eq!(envelope.time_rfc3339(), "2025-01-31T12:34:56.789Z");
        let whole_second = with("ce-time", "2025-01-31T12:34:56Z");
        assert_eq!(
            Envelope::from_headers(&whole_second)
                .unwrap()
                .time_rfc3339(),
            "2025-01-31T12:34:56.000Z"
        );
    }

    #[test]
    fn each_missing_header_is_named() {
        for name in [MSG_ID, CE_TYPE, CE_SOURCE, CE_TIME, TRACEPARENT] {
            let headers: Vec<(String, String)> = valid_headers()
                .into_iter()
                .filter(|(k, _)| k != name)
                .collect();
            assert_eq!(
                Envelope::from_headers(&headers),
                Err(EventError::MissingHeader { name })
            );
        }
    }

    #[test]
    fn malformed_event_ids_are_rejected() {
        for value in [
            "",
            "not-a-uuid",
            "01936F2E-7B8A-7C3D-9E4F-0A1B2C3D4E5F",
            "01936f2e7b8a7c3d9e4f0a1b2c3d4e5f",
            "{01936f2e-7b8a-7c3d-9e4f-0a1b2c3d4e5f}",
            "01936f2e-7b8a-7c3d-9e4f-0a1b2c3d4e5g",
        ] {
            assert_eq!(
                Envelope::from_headers(&with(MSG_ID, value)),
                Err(EventError::MalformedEventId {
                    value: value.to_owned()
                }),
                "{value}"
            );
        }
    }

    #[test]
    fn uuid_v4_and_nil_are_rejected_as_event_ids() {
        assert_eq!(Uuid::parse_str(V4_ID).unwrap().get_version_num(), 4);
        assert_eq!(
            Envelope::from_headers(&with(MSG_ID, V4_ID)),
            Err(EventError::EventIdNotV7 {
                value: V4_ID.to_owned(),
                version: 4
            })
        );
        let nil = "00000000-0000-0000-0000-000000000000";
        assert!(matches!(
            Envelope::from_headers(&with(MSG_ID, nil)),
            Err(EventError::EventIdNotV7 { version: 0, .. })
        ));
        // Version 7 bits but not the RFC 9562 variant.
        let wrong_variant = "01936f2e-7b8a-7c3d-0e4f-0a1b2c3d4e5f";
        assert!(matches!(
            Envelope::from_headers(&with(MSG_ID, wrong_variant)),
            Err(EventError::EventIdNotV7 { .. })
        ));
    }

    #[test]
    fn from_parts_validates_id_and_time() {
        let subject = Subject::parse("course.course.published").unwrap();
        let time = OffsetDateTime::parse("2025-01-31T12:34:56.789123Z", &Rfc3339).unwrap();
        let envelope = Envelope::from_parts(
            Uuid::parse_str(ID).unwrap(),
            subject.clone(),
            time,
            traceparent(),
        )
        .unwrap();
        assert_eq!(envelope.time_rfc3339(), "2025-01-31T12:34:56.789Z");

        let v4 = Uuid::parse_str(V4_ID).unwrap();
        assert!(matches!(
            Envelope::from_parts(v4, subject.clone(), time, traceparent()),
            Err(EventError::EventIdNotV7 { version: 4, .. })
        ));
        let before_year_0 = OffsetDateTime::parse("0000-01-01T00:30:00+01:00", &Rfc3339).unwrap();
        assert!(matches!(
            Envelope::from_parts(
                Uuid::parse_str(ID).unwrap(),
                subject,
                before_year_0,
                traceparent()
            ),
            Err(EventError::InvalidTime { .. })
        ));
    }

    #[test]
    fn malformed_event_type_gives_the_subject_error() {
        assert!(matches!(
            Envelope::from_headers(&with(CE_TYPE, "course.published")),
            Err(EventError::SubjectSegmentCount { found: 2, .. })
        ));
        assert!(matches!(
            Envelope::from_headers(&with(CE_TYPE, "course.course.Published")),
            Err(EventError::SubjectSegmentStart { .. })
        ));
    }

    #[test]
    fn source_must_be_the_event_types_context() {
        for value in ["", "Course", "coursegraph/course"] {
            assert_eq!(
                Envelope::from_headers(&with(CE_SOURCE, value)),
                Err(EventError::InvalidSource {
                    value: value.to_owned()
                }),
                "{value}"
            );
        }
        assert_eq!(
            Envelope::from_headers(&with(CE_SOURCE, "payment")),
            Err(EventError::SourceMismatch {
                value: "payment".to_owned(),
                context: "course".to_owned()
            })
        );
    }

    #[test]
    fn malformed_time_is_rejected() {
        for value in [
            "",
            "2025-01-31",
            "2025-01-31T12:34:56.789",
            "2025-01-31 12:34:56.789",
            "1738326896789",
            "2025-02-30T12:34:56.789Z",
        ] {
            assert!(
                matches!(
                    Envelope::from_headers(&with(CE_TIME, value)),
                    Err(EventError::InvalidTime { value: got, .. }) if got == value
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn malformed_traceparent_header_gives_its_specific_error() {
        let zero_trace = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        let zero_parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01";
        assert!(matches!(
            Envelope::from_headers(&with(TRACEPARENT, zero_trace)),
            Err(EventError::ZeroTraceId { .. })
        ));
        assert!(matches!(
            Envelope::from_headers(&with(TRACEPARENT, zero_parent)),
            Err(EventError::ZeroParentId { .. })
        ));
        assert!(matches!(
            Envelope::from_headers(&with(TRACEPARENT, "")),
            Err(EventError::MalformedTraceparent { .. })
        ));
    }
}
