//! Event types shared by Coursegraph's Rust subgraphs (search, video), which consume the
//! platform's events from NATS JetStream.
//!
//! It models an event from outside in: the [`Subject`] it is published on, the [`Envelope`] of
//! metadata every message carries in its headers, and the payload in the body, a protobuf
//! message of [`contracts`] (generated at build time from `schema/events/`). The [`Event`]
//! trait ties each payload message to its subject, and [`decode_event`] reads a payload only
//! as the message of the subject it arrived on.
//!
//! Every Rust service connects to NATS with [`nats::connect`], which reads the credentials of a
//! NATS URL and names the user's own inbox.
//!
//! # Subjects and streams
//!
//! A subject is `<context>.<entity>.<event>`, e.g. `course.course.published`. Each segment is
//! 1 to 64 characters of `a-z`, `0-9` and `_`, starting with a letter; there are exactly three.
//!
//! Each producing context has one JetStream stream, named after the context in uppercase and
//! capturing `<context>.>`: `course.course.published` lives in stream `COURSE`,
//! `payment.order.paid` in `PAYMENT` (see [`Subject::stream_name`]).
//!
//! # The header contract
//!
//! These headers are THE contract between every producer (the TypeScript outbox relays, and
//! any Rust producer) and every consumer. All five are required; the names are in
//! [`headers`].
//!
//! | header | holds | rules |
//! | --- | --- | --- |
//! | `Nats-Msg-Id` | the event id | a UUID v7 in canonical lowercase hyphenated form; JetStream de-duplicates on it |
//! | `ce-type` | the event type | the subject, `<context>.<entity>.<event>` |
//! | `ce-source` | the producing context | a context name equal to the subject's first segment |
//! | `ce-time` | when the event happened | RFC 3339; written in UTC with milliseconds (`2025-01-31T12:34:56.789Z`); read with any offset and precision, then normalised to UTC milliseconds |
//! | `traceparent` | the W3C trace context | `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lowercase hex, neither id all zeros |
//!
//! The `ce-` names follow the CloudEvents NATS binding. Readers match names exactly first and
//! then ignoring ASCII case, since some clients canonicalise them (see [`HeaderLookup`]).
//!
//! # Example
//!
//! ```
//! use coursegraph_events::{Envelope, EventError, Subject, TraceParent};
//!
//! let subject = Subject::parse("course.course.published")?;
//! assert_eq!(subject.stream_name(), "COURSE");
//!
//! let traceparent =
//!     TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
//! let envelope = Envelope::new(subject, traceparent);
//! let headers = envelope.to_headers();
//! assert_eq!(Envelope::from_headers(&headers)?, envelope);
//! # Ok::<(), EventError>(())
//! ```
//!
//! A consumer reads the payload as the event of the envelope's type:
//!
//! ```
//! use coursegraph_events::contracts::course::v1::CoursePublished;
//! use coursegraph_events::{decode_event, Envelope, Event, EventError};
//!
//! fn on_course_published(
//!     headers: &[(String, String)],
//!     payload: &[u8],
//! ) -> Result<CoursePublished, EventError> {
//!     let envelope = Envelope::from_headers(headers)?;
//!     decode_event::<CoursePublished>(envelope.event_type(), payload)
//! }
//! # assert_eq!(CoursePublished::SUBJECT, "course.course.published");
//! ```

pub mod contracts;
mod envelope;
mod error;
mod event;
pub mod headers;
pub mod nats;
mod subject;
mod traceparent;

pub use envelope::Envelope;
pub use error::EventError;
pub use event::{decode_event, Event};
pub use headers::HeaderLookup;
pub use subject::{Subject, MAX_SEGMENT_LEN};
pub use traceparent::TraceParent;

/// The protobuf runtime the [`contracts`] are generated for; bring [`prost::Message`] into
/// scope to encode or decode them directly.
pub use prost;
