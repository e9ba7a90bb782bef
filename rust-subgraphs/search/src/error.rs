//! The crate's one error type.

use std::path::PathBuf;

use coursegraph_events::EventError;
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
    #[error("cannot open the index folder {dir}: {source}")]
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
    },

    /// A tokenizer this crate registers on every index it opens is missing: the searcher
    /// belongs to an index not opened through [`SearchIndex`](crate::SearchIndex).
    #[error("tokenizer `{0}` is not registered on this index; open it with SearchIndex")]
    MissingTokenizer(&'static str),

    /// tantivy failed (I/O, a lock held by another writer, ...).
    #[error("index error: {0}")]
    Index(#[from] tantivy::TantivyError),

    /// The course stream (NATS JetStream) cannot be reached or used: connecting, creating the
    /// stream or the consumer, pulling or acknowledging messages.
    #[error("course stream: {what}: {reason}")]
    Stream {
        /// What was being done.
        what: &'static str,
        /// The client's error.
        reason: String,
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
