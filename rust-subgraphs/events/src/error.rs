//! The crate's one error type.

use thiserror::Error;

/// Everything that can be wrong with a subject, an envelope, the headers carrying it, or an
/// event's payload.
///
/// Variants are specific enough to match on: a consumer can tell a missing header from a
/// malformed one, and which rule a subject or `traceparent` broke.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    /// A subject does not have exactly three `.`-separated segments
    /// (`<context>.<entity>.<event>`).
    #[error("subject `{subject}` has {found} segment(s); expected exactly 3: <context>.<entity>.<event>")]
    SubjectSegmentCount {
        /// The subject as given.
        subject: String,
        /// How many segments it has.
        found: usize,
    },

    /// A subject segment is empty or longer than [`MAX_SEGMENT_LEN`](crate::MAX_SEGMENT_LEN)
    /// characters.
    #[error("subject `{subject}`: segment `{segment}` is {len} characters long; expected 1 to 64")]
    SubjectSegmentLength {
        /// The subject as given.
        subject: String,
        /// The offending segment.
        segment: String,
        /// Its length in bytes.
        len: usize,
    },

    /// A subject segment does not start with a lowercase ASCII letter.
    #[error("subject `{subject}`: segment `{segment}` must start with a lowercase ascii letter")]
    SubjectSegmentStart {
        /// The subject as given.
        subject: String,
        /// The offending segment.
        segment: String,
    },

    /// A subject segment holds a character other than `a-z`, `0-9` and `_`
    /// (this also rules out the NATS wildcards `*` and `>`).
    #[error(
        "subject `{subject}`: segment `{segment}` contains {found:?}; allowed are a-z, 0-9 and _"
    )]
    SubjectSegmentChar {
        /// The subject as given.
        subject: String,
        /// The offending segment.
        segment: String,
        /// The first character that is not allowed.
        found: char,
    },

    /// A header of the contract is absent from the message.
    #[error("missing header `{name}`")]
    MissingHeader {
        /// The header's name, as in [`crate::headers`].
        name: &'static str,
    },

    /// The event id is not a UUID in canonical form (lowercase, hyphenated, 36 characters).
    #[error("event id `{value}` is not a canonical lowercase hyphenated UUID")]
    MalformedEventId {
        /// The id as given.
        value: String,
    },

    /// The event id is a UUID but not a version 7 (time-ordered, RFC 9562) UUID.
    #[error("event id `{value}` is a version {version} UUID; event ids must be UUID v7")]
    EventIdNotV7 {
        /// The id as given.
        value: String,
        /// The UUID's version number (0 when the variant is not RFC 9562).
        version: usize,
    },

    /// The `ce-source` header is not a valid context name (same rules as a subject segment).
    #[error("event source `{value}` is not a valid context name")]
    InvalidSource {
        /// The source as given.
        value: String,
    },

    /// The `ce-source` header names a different context than the subject's first segment.
    #[error("event source `{value}` does not match the context `{context}` of the event type")]
    SourceMismatch {
        /// The source as given.
        value: String,
        /// The context segment of the event type.
        context: String,
    },

    /// The event time is not an RFC 3339 timestamp, or lies outside years 0000 to 9999 UTC.
    #[error("event time `{value}` is invalid: {reason}")]
    InvalidTime {
        /// The time as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The `traceparent` is not of the form `00-<32 hex>-<16 hex>-<2 hex>` (lowercase hex).
    #[error("traceparent `{value}` is malformed: {reason}")]
    MalformedTraceparent {
        /// The traceparent as given.
        value: String,
        /// Which rule it broke.
        reason: &'static str,
    },

    /// The `traceparent`'s trace id is all zeros, which W3C trace context forbids.
    #[error("traceparent `{value}` has an all-zero trace id")]
    ZeroTraceId {
        /// The traceparent as given.
        value: String,
    },

    /// The `traceparent`'s parent id is all zeros, which W3C trace context forbids.
    #[error("traceparent `{value}` has an all-zero parent id")]
    ZeroParentId {
        /// The traceparent as given.
        value: String,
    },

    /// A payload was read as an event type whose subject is not the one it arrived on
    /// (see [`decode_event`](crate::decode_event)).
    #[error(
        "payload on subject `{subject}` cannot be read as {message}, the event of subject `{expected}`"
    )]
    SubjectMismatch {
        /// The subject the payload arrived on.
        subject: String,
        /// The full proto name of the message it was to be read as, e.g.
        /// `coursegraph.course.v1.CoursePublished`.
        message: String,
        /// That message's subject, [`Event::SUBJECT`](crate::Event::SUBJECT).
        expected: &'static str,
    },

    /// A payload is not a valid protobuf encoding of its event's message (truncated, a wire
    /// type that does not fit the field, a string that is not UTF-8, ...).
    #[error("payload of `{subject}` is not a valid {message}: {reason}")]
    Decode {
        /// The subject the payload arrived on (equal to the message's).
        subject: &'static str,
        /// The full proto name of the message, e.g. `coursegraph.course.v1.CoursePublished`.
        message: String,
        /// What prost found wrong.
        reason: prost::DecodeError,
    },
}
