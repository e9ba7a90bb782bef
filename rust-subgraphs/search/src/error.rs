//! The crate's one error type; [`ErrorChain`] (from the subgraph kit) logs it with its sources.
//!
//! A variant that wraps another error keeps it as its [`source`](std::error::Error::source)
//! and leaves it out of its own message, so a log shows each cause once:
//! `course stream: pull: <async-nats error>: <io error>` (see [`ErrorChain`]).

use std::path::PathBuf;

use coursegraph_events::EventError;
use coursegraph_subgraph_kit::config::ConfigError;
pub use coursegraph_subgraph_kit::error::{BoxError, ErrorChain};
use thiserror::Error;

/// Everything that can go wrong reading a search request, applying a course event, or using the
/// index underneath.
///
/// The first group of variants is the caller's bad input ([`SearchError::is_bad_input`]): the
/// message is safe and specific enough to show to a client (GraphQL `BAD_USER_INPUT`). The rest
/// are the service's own failures (`INTERNAL`); their messages may carry paths and tantivy
/// details meant for logs, not for clients.
#[derive(Debug, Error)]
pub enum SearchError {
    /// The query is empty, only whitespace, or has no word to search for: a word is a run of
    /// letters and digits of at most [`MAX_WORD_BYTES`](crate::schema::MAX_WORD_BYTES) bytes
    /// (so `"?!"` has none).
    #[error("query has no word to search for")]
    EmptyQuery,

    /// The query, once trimmed, is longer than [`MAX_QUERY_CHARS`](crate::MAX_QUERY_CHARS).
    #[error("query is {len} characters long; at most {max} are allowed")]
    QueryTooLong {
        /// Its length in characters, after trimming.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The query has more distinct words than [`MAX_QUERY_WORDS`](crate::MAX_QUERY_WORDS).
    #[error("query has {count} distinct words; at most {max} are allowed")]
    TooManyWords {
        /// How many distinct words it has.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// `first` is outside `1..=`[`MAX_FIRST`](crate::MAX_FIRST).
    #[error("first must be between 1 and {max}, got {first}")]
    InvalidFirst {
        /// The value given.
        first: i64,
        /// The largest allowed value.
        max: i64,
    },

    /// The `after` cursor was not produced by this service, or points past the pages it serves.
    #[error("after is not a valid cursor: {reason}")]
    InvalidCursor {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A filter value is empty, too long or contains control characters.
    #[error("filter.{field} {reason}")]
    InvalidFilter {
        /// The filter's field: `category` or `language`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A course event has a valid encoding but content the index cannot take (no snapshot, an
    /// empty course id, a version below 1, a malformed `published_at`, ...). Applying it
    /// changes nothing; a consumer should log it and move on rather than retry.
    #[error("course event on `{subject}` cannot be indexed: {reason}")]
    InvalidEvent {
        /// The event's subject.
        subject: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A course event's payload cannot be decoded as the message of its subject.
    #[error(transparent)]
    Event(#[from] EventError),

    /// The index folder holds an index built with another schema (an older or newer version of
    /// this crate). Rebuild it from a replay of the course stream into an empty folder.
    #[error("the index in {dir} has a different schema; rebuild it from the course events")]
    SchemaMismatch {
        /// The index folder.
        dir: PathBuf,
    },

    /// The index folder cannot be created or opened.
    #[error("cannot open the index folder {dir}")]
    Folder {
        /// The index folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// Data this crate wrote into the index (the commit payload, a course's state record)
    /// cannot be read back.
    #[error("the index is corrupt: {reason}")]
    Corrupt {
        /// What could not be read.
        reason: String,
        /// The decoder's error, when there is one.
        #[source]
        source: Option<serde_json::Error>,
    },

    /// A tokenizer this crate registers on every index it opens is missing: the searcher
    /// belongs to an index not opened through [`SearchIndex`](crate::SearchIndex).
    #[error("tokenizer `{0}` is not registered on this index; open it with SearchIndex")]
    MissingTokenizer(&'static str),

    /// tantivy failed (I/O, a lock held by another writer, ...).
    #[error("index error")]
    Index(#[from] tantivy::TantivyError),

    /// The course stream (NATS JetStream) cannot be reached or used: connecting, creating the
    /// stream or the consumer, pulling or acknowledging messages.
    #[error("course stream: {what}")]
    Stream {
        /// What was being done.
        what: &'static str,
        /// Why: the NATS client's error, or what went wrong when the client reported none.
        #[source]
        source: BoxError,
    },

    /// An environment variable of the service's configuration is invalid.
    #[error("configuration: {name} {reason}")]
    Config {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl SearchError {
    /// Whether the error is the caller's bad input (GraphQL `BAD_USER_INPUT`), as opposed to a
    /// failure of the service (`INTERNAL`).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::EmptyQuery
                | Self::QueryTooLong { .. }
                | Self::TooManyWords { .. }
                | Self::InvalidFirst { .. }
                | Self::InvalidCursor { .. }
                | Self::InvalidFilter { .. }
        )
    }
}

impl From<ConfigError> for SearchError {
    fn from(error: ConfigError) -> Self {
        Self::Config {
            name: error.name,
            reason: error.reason,
        }
    }
}

impl SearchError {
    /// The error with its sources, for logs (see [`ErrorChain`]).
    pub fn chain(&self) -> ErrorChain<'_> {
        ErrorChain(self)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as StdError;

    use super::*;

    /// An error that, like some libraries' errors, repeats its source in its own message.
    #[derive(Debug, Error)]
    #[error("connection lost: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn stream_errors_keep_the_clients_error_as_their_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let error = SearchError::Stream {
            what: "pull",
            source: Box::new(Repeats(io)),
        };
        assert_eq!(error.to_string(), "course stream: pull");
        let source = error.source().expect("a source");
        assert!(source.is::<Repeats>());
        let io = source.source().expect("the io error");
        assert_eq!(
            io.downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
            Some(std::io::ErrorKind::ConnectionReset)
        );
        // Each cause once, though `Repeats` already shows the io error.
        assert_eq!(
            error.chain().to_string(),
            "course stream: pull: connection lost: reset by peer"
        );
    }

    #[test]
    fn a_message_without_an_error_is_a_source_too() {
        let error = SearchError::Stream {
            what: "pull",
            source: "the message stream ended".into(),
        };
        assert_eq!(
            error.chain().to_string(),
            "course stream: pull: the message stream ended"
        );
    }

    #[test]
    fn a_corrupt_commit_payload_keeps_the_decoders_error() {
        let error = crate::indexer::CommitPayload::parse(Some("{not json")).unwrap_err();
        let SearchError::Corrupt { ref source, .. } = error else {
            panic!("expected Corrupt, got {error:?}");
        };
        let decoder = source.as_ref().expect("the serde_json error");
        assert!(error.source().is_some_and(|s| s.is::<serde_json::Error>()));
        assert_eq!(
            error.chain().to_string(),
            format!("the index is corrupt: commit payload \"{{not json\": {decoder}")
        );
    }

    #[test]
    fn bad_input_has_no_source_and_keeps_its_message() {
        let error = SearchError::InvalidFirst { first: 0, max: 50 };
        assert!(error.source().is_none());
        assert_eq!(
            error.chain().to_string(),
            "first must be between 1 and 50, got 0"
        );
    }
}
