//! The search engine end to end, on real tantivy indexes (in memory, or on disk in a temporary
//! folder), fed with course snapshots built as protobuf messages.

mod bad_input;
mod captions;
mod fixtures;
mod indexing;
mod paid;
mod search;
