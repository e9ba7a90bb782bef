//! The search engine of Coursegraph's search subgraph: full-text search over published courses
//! and lessons, on a tantivy index kept up to date from course events.
//!
//! - [`SearchIndex`] opens (or creates) the index in a folder, or in memory for tests.
//! - [`Indexer`] applies [`CourseEvent`]s (decoded from the course stream's subjects and
//!   protobuf payloads) and commits them together with the stream sequence they came from
//!   (and the stream's identity), so a restart resumes from [`SearchIndex::last_sequence`].
//! - [`search`] (or [`SearchIndex::search`]) answers a [`SearchRequest`] with a
//!   [`SearchPage`]: course and lesson hits with scores and highlighted snippets, facet counts,
//!   and a cursor.
//!
//! Around the engine, the subgraph: [`app`] (the HTTP routes: `/graphql`, `/healthz`,
//! `/readyz`) over [`graphql`] (Federation 2 schema, [`sdl`]) behind [`limits`] (the operation
//! limits every `/graphql` request is checked against before anything executes), and
//! [`consumer`] (the `COURSE` stream's durable consumer that feeds the [`Indexer`]);
//! `src/main.rs` wires them up.
//!
//! The schema and its per-language fields are described in [`schema`]; how a query matches
//! (stems, typos, prefixes, boosts) in the docs of [`search`].
//!
//! # Rebuilding
//!
//! The index is a projection of the course stream. [`consumer::rebuild`] empties it and applies
//! the stream again from its first message (the binary's `rebuild` command, run by `node
//! scripts/replay.mjs search search-courses`; it also empties a folder whose index refuses to
//! open with [`SearchError::SchemaMismatch`] after a schema change).
//!
//! Each commit also records the [`INDEX_FORMAT`], the rules its documents were built under
//! (format 2: the bodies of paid lessons are not indexed). [`SearchIndex::open_or_create`]
//! empties an index of another format before anything reads it, and the consumer applies the
//! stream again, so an upgrade never serves what an older build indexed.
//!
//! Each commit records the stream sequence it holds and the stream's identity
//! ([`StreamIdentity`]: name and creation time, which change when the stream is deleted and
//! recreated). [`consumer::run`] rebuilds by itself, with a warning in the log, when the live
//! stream's identity differs from the index's (a recreated stream, even one that has grown past
//! the index's sequence since) or the index is ahead of the stream. An index written before
//! identities were recorded is adopted when the durable consumer is still on the stream, and
//! rebuilt once otherwise (see [`consumer::run`]).
//!
//! # Example
//!
//! ```
//! use coursegraph_events::contracts::course::v1::{CourseSnapshot, Lesson};
//! use coursegraph_search::{CourseEvent, DocKind, SearchIndex, SearchRequest};
//!
//! let index = SearchIndex::in_ram()?;
//! let mut indexer = index.indexer()?;
//! let course = CourseSnapshot {
//!     course_id: "c1".into(),
//!     version: 1,
//!     title: "Kubernetes in practice".into(),
//!     language: "en".into(),
//!     lessons: vec![Lesson {
//!         lesson_id: "l1".into(),
//!         title: "Running pods".into(),
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! indexer.apply(1, &CourseEvent::Published(course))?;
//! indexer.commit()?;
//!
//! let page = index.search(&SearchRequest { query: "kuber".into(), first: 10, ..Default::default() })?;
//! assert_eq!(page.hits[0].kind, DocKind::Course);
//! assert_eq!(page.hits[0].snippet.title, "<b>Kubernetes</b> in practice");
//! assert_eq!(index.last_sequence()?, 1);
//! # Ok::<(), coursegraph_search::SearchError>(())
//! ```

mod app;
mod captions;
pub mod config;
pub mod consumer;
mod cursor;
mod documents;
mod error;
mod event;
pub mod graphql;
mod highlight;
mod indexer;
mod page;
mod query;
mod request;
pub mod schema;
mod words;

use std::path::{Path, PathBuf};

use tantivy::directory::MmapDirectory;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyError, Term};

pub use app::{app, AppState};
pub use captions::{CaptionSegment, CaptionsEvent, MAX_SEGMENTS};
/// The operation limits `/graphql` applies, from the subgraph kit (where they and their tests
/// live).
pub use coursegraph_subgraph_kit::limits;
pub use coursegraph_subgraph_kit::{OperationCounts, MAX_BODY_BYTES};
pub use error::{BoxError, ErrorChain, SearchError};
pub use event::CourseEvent;
pub use graphql::sdl;
pub use highlight::FRAGMENT_BYTES;
pub use indexer::{
    Applied, CaptionsApplied, CourseState, Indexer, Source, StreamIdentity, INDEX_FORMAT,
};
pub use page::{CaptionMoment, FacetCount, Facets, Hit, SearchPage, Snippet};
pub use query::search;
pub use request::{
    Filter, SearchRequest, MAX_FILTER_CHARS, MAX_FIRST, MAX_QUERY_CHARS, MAX_QUERY_WORDS,
    MAX_RESULT_WINDOW,
};
pub use schema::{DocKind, Level};
pub use words::{MIN_CHARS_ONE_TYPO, MIN_CHARS_TWO_TYPOS, MIN_PREFIX_CHARS};

use schema::{Fields, CAPTIONS_KIND, STATE_KIND};

/// Default memory budget of the [`Indexer`]: 50 MB, one indexing thread.
pub const DEFAULT_WRITER_BUDGET_BYTES: usize = 50_000_000;

/// The search index: a tantivy index in a folder (or in memory), with this crate's schema and
/// analyzers, and one reader shared by all searches.
///
/// The reader reloads when [`Indexer::commit`] says so (tantivy's `ReloadPolicy::Manual`):
/// searches see a commit as soon as it returns, and no file-watching thread is needed, since
/// the writer and the readers live in the same process.
#[derive(Clone)]
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the folder and an empty index if needed.
    ///
    /// An index committed under another [`INDEX_FORMAT`] (an older build's, which may hold the
    /// bodies of paid lessons) is emptied first, its files deleted, before anything can read
    /// it: it is a projection of the course stream, and the consumer applies the stream again
    /// (the emptied index keeps its stream identity at sequence 0, so [`consumer::run`] starts
    /// its durable consumer again from the first message). Searches find nothing until it has.
    ///
    /// # Errors
    /// [`SearchError::Folder`] when the folder cannot be created or opened;
    /// [`SearchError::SchemaMismatch`] when it holds an index of another schema;
    /// [`SearchError::Index`] for other tantivy failures, among them a lock failure when the
    /// index must be emptied while another process writes it.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<Self, SearchError> {
        let dir = dir.as_ref();
        let folder_error = |source| SearchError::Folder {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(folder_error)?;
        // Wrapped whole, not as its message: the io::Error shows it and chains to its cause.
        let directory =
            MmapDirectory::open(dir).map_err(|e| folder_error(std::io::Error::other(e)))?;
        let index = Index::open_or_create(directory, schema::build_schema())
            .map_err(|e| schema_error(e, dir.to_path_buf()))?;
        let opened = Self::from_index(index)?;
        opened.empty_if_other_format(dir)?;
        Ok(opened)
    }

    /// Empties an index of another [`INDEX_FORMAT`] (see [`SearchIndex::open_or_create`]).
    fn empty_if_other_format(&self, dir: &Path) -> Result<(), SearchError> {
        let committed = self.commit_payload()?;
        if committed.format == INDEX_FORMAT {
            return Ok(());
        }
        tracing::warn!(
            dir = %dir.display(),
            index_format = committed.format,
            format = INDEX_FORMAT,
            index_sequence = committed.last_sequence,
            "the index was built under other indexing rules; emptying it, the streams will be applied again"
        );
        let mut indexer = self.indexer()?;
        indexer.reset_all()?;
        indexer.collect_garbage()?;
        Ok(())
    }

    /// A new, empty index in memory (for tests).
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails.
    pub fn in_ram() -> Result<Self, SearchError> {
        Self::from_index(Index::create_in_ram(schema::build_schema()))
    }

    fn from_index(index: Index) -> Result<Self, SearchError> {
        schema::register_analyzers(&index);
        let fields = Fields::resolve(&index.schema())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    /// The index's single writer, with [`DEFAULT_WRITER_BUDGET_BYTES`].
    ///
    /// # Errors
    /// [`SearchError::Index`] when another writer holds the index (in this process or
    /// another) or tantivy fails.
    pub fn indexer(&self) -> Result<Indexer, SearchError> {
        self.indexer_with_budget(DEFAULT_WRITER_BUDGET_BYTES)
    }

    /// The index's single writer, with one indexing thread and `budget_bytes` of memory
    /// (at least 15 MB, tantivy's minimum).
    ///
    /// # Errors
    /// As [`SearchIndex::indexer`]; also when the budget is below tantivy's minimum.
    pub fn indexer_with_budget(&self, budget_bytes: usize) -> Result<Indexer, SearchError> {
        let writer = self.index.writer_with_num_threads(1, budget_bytes)?;
        Ok(Indexer::new(
            writer,
            self.reader.clone(),
            self.fields.clone(),
            self.commit_payload()?,
        ))
    }

    /// The shared reader (reloaded by every [`Indexer::commit`]).
    pub fn reader(&self) -> &IndexReader {
        &self.reader
    }

    /// A searcher on the last committed state.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The tantivy index underneath.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Runs a search on the last committed state; see [`search`].
    ///
    /// # Errors
    /// As [`search`].
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        search(&self.searcher(), request)
    }

    /// The last course stream sequence whose event is in the committed index (0: none): a
    /// consumer resumes after it.
    ///
    /// # Errors
    /// [`SearchError::Index`] when the index metadata cannot be read;
    /// [`SearchError::Corrupt`] when the commit payload cannot.
    pub fn last_sequence(&self) -> Result<u64, SearchError> {
        self.last_sequence_of(Source::Course)
    }

    /// [`SearchIndex::last_sequence`] of `source`'s stream.
    ///
    /// # Errors
    /// As [`SearchIndex::last_sequence`].
    pub fn last_sequence_of(&self, source: Source) -> Result<u64, SearchError> {
        Ok(self.commit_payload()?.position(source).last_sequence)
    }

    /// [`SearchIndex::stream_identity`] of `source`'s stream.
    ///
    /// # Errors
    /// As [`SearchIndex::last_sequence`].
    pub fn stream_identity_of(
        &self,
        source: Source,
    ) -> Result<Option<StreamIdentity>, SearchError> {
        Ok(self.commit_payload()?.position(source).stream)
    }

    /// The stream history [`SearchIndex::last_sequence`] belongs to, as committed: `None` for
    /// an index never committed, or committed by a version that did not record it.
    ///
    /// # Errors
    /// As [`SearchIndex::last_sequence`].
    pub fn stream_identity(&self) -> Result<Option<StreamIdentity>, SearchError> {
        Ok(self.commit_payload()?.stream)
    }

    /// The [`INDEX_FORMAT`] of the committed index (an index never committed has this
    /// build's).
    ///
    /// # Errors
    /// As [`SearchIndex::last_sequence`].
    pub fn format(&self) -> Result<u32, SearchError> {
        Ok(self.commit_payload()?.format)
    }

    fn commit_payload(&self) -> Result<indexer::CommitPayload, SearchError> {
        let metas = self.index.load_metas()?;
        indexer::CommitPayload::parse(metas.payload.as_deref())
    }

    /// What the committed index knows of a course: `None` when it never saw it.
    ///
    /// # Errors
    /// [`SearchError::Index`] or [`SearchError::Corrupt`].
    pub fn course_state(&self, course_id: &str) -> Result<Option<CourseState>, SearchError> {
        indexer::read_state(&self.searcher(), &self.fields, course_id)
    }

    /// How many courses, lessons and captions the committed index holds.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails.
    pub fn stats(&self) -> Result<IndexStats, SearchError> {
        let searcher = self.searcher();
        let count = |kind: &str| -> Result<u64, SearchError> {
            let query = TermQuery::new(
                Term::from_field_text(self.fields.kind, kind),
                IndexRecordOption::Basic,
            );
            Ok(searcher.search(&query, &tantivy::collector::Count)? as u64)
        };
        Ok(IndexStats {
            courses: count(DocKind::Course.as_str())?,
            lessons: count(DocKind::Lesson.as_str())?,
            known_courses: count(STATE_KIND)?,
            caption_segments: count(DocKind::Caption.as_str())?,
            caption_records: count(CAPTIONS_KIND)?,
        })
    }
}

/// Document counts of the committed index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Published courses (one document each).
    pub courses: u64,
    /// Lessons of published courses.
    pub lessons: u64,
    /// Courses ever seen, archived ones included.
    pub known_courses: u64,
    /// Searchable caption segments (of public lessons of published courses).
    pub caption_segments: u64,
    /// Lessons' caption languages ever seen (removed ones included).
    pub caption_records: u64,
}

fn schema_error(error: TantivyError, dir: PathBuf) -> SearchError {
    match error {
        TantivyError::SchemaError(_) => SearchError::SchemaMismatch { dir },
        other => SearchError::Index(other),
    }
}
