//! Applying course events to the index, and remembering how far into the stream it is.
//!
//! Each course's last applied version is kept in the index itself, in a `state` record
//! (see [`crate::schema`]), committed atomically with the course's documents; the last applied
//! JetStream stream sequence is kept in the commit's payload (tantivy's `meta.json`), committed
//! with them too. So after a crash the index, the versions and the sequence always agree: a
//! restart resumes from [`SearchIndex::last_sequence`](crate::SearchIndex::last_sequence) + 1
//! and whatever is replayed again is recognised as already applied.
//!
//! A sequence only means something in one stream's history, so the payload also names that
//! history: the [`StreamIdentity`] (the stream's name and creation time) the sequence belongs
//! to, which tells a recreated stream from the one the index followed.

use std::collections::HashMap;

use coursegraph_events::contracts::course::v1::CourseSnapshot;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{IndexReader, IndexWriter, Searcher, TantivyDocument, Term};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::documents::CourseDocs;
use crate::event::CourseEvent;
use crate::schema::{Fields, STATE_KIND};
use crate::SearchError;

/// What the index knows of a course it has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CourseState {
    /// The last applied version (0 when the course was archived before any version was seen).
    pub version: u64,
    /// Whether the course is archived (and so has no documents in the index).
    pub archived: bool,
}

/// What [`Indexer::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The course's documents were replaced by those of this version.
    Indexed {
        /// The course.
        course_id: String,
        /// The version now in the index.
        version: u64,
        /// How many lesson documents it has.
        lessons: usize,
    },
    /// The course's documents were removed.
    Archived {
        /// The course.
        course_id: String,
    },
    /// Nothing changed: the event is older than (or the same as) what the index holds, e.g. a
    /// redelivery or a replay.
    Ignored {
        /// The course.
        course_id: String,
        /// What the index holds for it.
        current: CourseState,
    },
}

/// Which stream history an index follows: a JetStream stream's name and the time the server
/// created it. Deleting a stream and creating it again (under the same name) gives it a new
/// creation time and sequences starting again at 1, so two identities that differ mean two
/// histories whose sequences cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamIdentity {
    /// The stream's name.
    pub name: String,
    /// When the server created the stream (JetStream stream info's `created`, to the
    /// nanosecond; written as RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl std::fmt::Display for StreamIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let created = self
            .created
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.created.to_string());
        write!(f, "{} created {created}", self.name)
    }
}

/// The rules this build indexes by, recorded with every commit. An index committed under
/// other rules may hold what this build must not serve (format 1 held the bodies of paid
/// lessons), so [`SearchIndex::open_or_create`](crate::SearchIndex::open_or_create) empties
/// it before anything reads it, and the consumer applies the stream again. Bump it whenever
/// what a course event turns into changes in a way existing documents must not keep.
///
/// - 1 (no `format` in the payload): every lesson's body indexed.
/// - 2: the body of a lesson indexed only when it is public (free course or free preview).
pub const INDEX_FORMAT: u32 = 2;

/// The format of a payload written before formats were recorded.
fn unrecorded_format() -> u32 {
    1
}

/// The commit payload: where in which stream the committed index is, and under which
/// [`INDEX_FORMAT`] its documents were built.
///
/// Indexes written before the stream identity was recorded have `{"last_sequence": N}` only;
/// they read as `stream: None` (see [`crate::consumer::run`] for what happens to them), and
/// as format 1.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CommitPayload {
    /// The last applied stream sequence (0: none).
    pub(crate) last_sequence: u64,
    /// The stream history `last_sequence` belongs to (`None`: not recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stream: Option<StreamIdentity>,
    /// The [`INDEX_FORMAT`] the documents were built under.
    #[serde(default = "unrecorded_format")]
    pub(crate) format: u32,
}

impl Default for CommitPayload {
    /// Nothing committed yet: sequence 0 of no stream, and no document of any older format.
    fn default() -> Self {
        Self {
            last_sequence: 0,
            stream: None,
            format: INDEX_FORMAT,
        }
    }
}

impl CommitPayload {
    /// Reads a commit payload (`None`: no commit yet, sequence 0 of no stream).
    pub(crate) fn parse(payload: Option<&str>) -> Result<Self, SearchError> {
        match payload {
            None => Ok(Self::default()),
            Some(text) => serde_json::from_str(text).map_err(|e| SearchError::Corrupt {
                reason: format!("commit payload {text:?}"),
                source: Some(e),
            }),
        }
    }
}

/// Reads a course's state record from a committed view of the index.
pub(crate) fn read_state(
    searcher: &Searcher,
    fields: &Fields,
    course_id: &str,
) -> Result<Option<CourseState>, SearchError> {
    let term_query = |field, text: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::Basic,
        ))
    };
    let query = BooleanQuery::new(vec![
        (Occur::Must, term_query(fields.kind, STATE_KIND)),
        (Occur::Must, term_query(fields.course_id, course_id)),
    ]);
    let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
    let Some((_, address)) = top.first() else {
        return Ok(None);
    };
    let doc: TantivyDocument = searcher.doc(*address)?;
    let version = doc.get_first(fields.version).and_then(|v| v.as_u64());
    let archived = doc.get_first(fields.archived).and_then(|v| v.as_bool());
    match (version, archived) {
        (Some(version), Some(archived)) => Ok(Some(CourseState { version, archived })),
        _ => Err(SearchError::Corrupt {
            reason: format!("the state record of course {course_id} lacks version or archived"),
            source: None,
        }),
    }
}

/// The single writer of an index: applies course events, then commits them together with the
/// stream position.
///
/// Changes are invisible to searches until [`Indexer::commit`], which also reloads the
/// [`SearchIndex`](crate::SearchIndex)'s reader, so the next search sees them. Commit in
/// batches (every N events or T milliseconds): a commit costs a few milliseconds and an fsync.
///
/// Only one `Indexer` can exist per index folder at a time (tantivy holds a lock file).
pub struct Indexer {
    writer: IndexWriter,
    reader: IndexReader,
    fields: Fields,
    /// States written since the last commit (the committed ones are read from the index).
    pending: HashMap<String, CourseState>,
    /// The highest sequence applied, committed or not.
    last_sequence: u64,
    committed_sequence: u64,
    /// The stream history the sequences belong to, committed or not.
    stream: Option<StreamIdentity>,
    committed_stream: Option<StreamIdentity>,
}

impl Indexer {
    pub(crate) fn new(
        writer: IndexWriter,
        reader: IndexReader,
        fields: Fields,
        committed: CommitPayload,
    ) -> Self {
        Self {
            writer,
            reader,
            fields,
            pending: HashMap::new(),
            last_sequence: committed.last_sequence,
            committed_sequence: committed.last_sequence,
            stream: committed.stream.clone(),
            committed_stream: committed.stream,
        }
    }

    /// Applies the event found at stream position `sequence`.
    ///
    /// A publication replaces every document of the course (course, lessons) by those of its
    /// snapshot, unless the index already holds that version or a newer one. An archival
    /// removes them all and remembers the course as archived, so an older publication that
    /// arrives late cannot bring it back; a newer version (a re-publication) can.
    ///
    /// # Errors
    /// [`SearchError::InvalidEvent`] when the snapshot cannot be indexed (nothing changes);
    /// [`SearchError::Index`] when tantivy fails.
    pub fn apply(&mut self, sequence: u64, event: &CourseEvent) -> Result<Applied, SearchError> {
        let applied = match event {
            CourseEvent::Published(course) | CourseEvent::Updated(course) => {
                self.index_course(event.subject(), course)?
            }
            CourseEvent::Archived { course_id } => self.archive(event.subject(), course_id)?,
        };
        self.skip(sequence);
        Ok(applied)
    }

    /// Records that the message at `sequence` was handled without changing the index (an
    /// event the index does not react to, or one rejected as invalid), so that a restart does
    /// not read it again.
    pub fn skip(&mut self, sequence: u64) {
        self.last_sequence = self.last_sequence.max(sequence);
    }

    /// The highest stream sequence applied or skipped, committed or not.
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// The stream history [`Indexer::last_sequence`] belongs to, committed or not (`None`: an
    /// empty index, or one written before identities were recorded).
    pub fn stream(&self) -> Option<&StreamIdentity> {
        self.stream.as_ref()
    }

    /// Says which stream history the sequences belong to; committed with the next
    /// [`Indexer::commit`] (or [`Indexer::reset`]). Changing it does not touch the documents:
    /// to follow another stream, [`Indexer::reset`] right after.
    pub fn set_stream(&mut self, stream: StreamIdentity) {
        self.stream = Some(stream);
    }

    /// Whether anything was applied or skipped, or the stream changed, since the last commit.
    pub fn has_uncommitted(&self) -> bool {
        !self.pending.is_empty()
            || self.last_sequence != self.committed_sequence
            || self.stream != self.committed_stream
    }

    /// Makes every change since the last commit durable and visible to searches, together
    /// with [`Indexer::last_sequence`] and [`Indexer::stream`]. Returns the committed sequence.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails; call [`Indexer::rollback`] then, and
    /// re-read the stream from the last committed sequence.
    pub fn commit(&mut self) -> Result<u64, SearchError> {
        let payload = serde_json::to_string(&CommitPayload {
            last_sequence: self.last_sequence,
            stream: self.stream.clone(),
            // Every document this writer adds follows this build's rules; an index of another
            // format is emptied before a writer of this build touches it (`open_or_create`).
            format: INDEX_FORMAT,
        })
        .map_err(|e| SearchError::Corrupt {
            reason: "cannot write the commit payload".into(),
            source: Some(e),
        })?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        self.pending.clear();
        self.committed_sequence = self.last_sequence;
        self.committed_stream.clone_from(&self.stream);
        Ok(self.committed_sequence)
    }

    /// Empties the index (every document and state record) and commits it at stream sequence
    /// 0, so that the stream can be applied again from its first message. Changes not
    /// committed yet are dropped first, except the [`Indexer::stream`] just set, which is
    /// committed with the emptied index: from then on the index is a (growing) prefix of that
    /// stream, whatever interrupts the replay.
    ///
    /// Committed at once: a course's state is read from the committed index, and an
    /// uncommitted emptying would let the old states ignore the events applied again.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails.
    pub fn reset(&mut self) -> Result<(), SearchError> {
        let stream = self.stream.take();
        self.rollback()?;
        self.stream = stream;
        self.writer.delete_all_documents()?;
        self.last_sequence = 0;
        self.commit()?;
        Ok(())
    }

    /// Deletes the files of segments no commit refers to any more (tantivy also does so after
    /// merges, but not right away): after a [`Indexer::reset`], the emptied documents' files.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails.
    pub(crate) fn collect_garbage(&mut self) -> Result<(), SearchError> {
        self.writer.garbage_collect_files().wait()?;
        Ok(())
    }

    /// Drops every change since the last commit (documents, sequence and stream).
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails to restart its writer.
    pub fn rollback(&mut self) -> Result<(), SearchError> {
        self.writer.rollback()?;
        self.pending.clear();
        self.last_sequence = self.committed_sequence;
        self.stream.clone_from(&self.committed_stream);
        Ok(())
    }

    /// The state of a course, including changes not committed yet.
    fn state(&self, course_id: &str) -> Result<Option<CourseState>, SearchError> {
        if let Some(state) = self.pending.get(course_id) {
            return Ok(Some(*state));
        }
        read_state(&self.reader.searcher(), &self.fields, course_id)
    }

    fn index_course(
        &mut self,
        subject: &'static str,
        course: &CourseSnapshot,
    ) -> Result<Applied, SearchError> {
        let docs = CourseDocs::build(&self.fields, subject, course)?;
        let course_id = course.course_id.clone();
        if let Some(current) = self.state(&course_id)? {
            if current.version >= docs.version {
                return Ok(Applied::Ignored { course_id, current });
            }
        }
        let version = docs.version;
        let lessons = docs.lessons.len();
        self.delete_course(&course_id);
        self.writer.add_document(docs.course)?;
        for lesson in docs.lessons {
            self.writer.add_document(lesson)?;
        }
        self.put_state(
            &course_id,
            CourseState {
                version,
                archived: false,
            },
        )?;
        Ok(Applied::Indexed {
            course_id,
            version,
            lessons,
        })
    }

    fn archive(&mut self, subject: &'static str, course_id: &str) -> Result<Applied, SearchError> {
        if course_id.trim().is_empty() {
            return Err(SearchError::InvalidEvent {
                subject,
                reason: "the course id is empty".into(),
            });
        }
        let current = self.state(course_id)?;
        if let Some(current) = current.filter(|s| s.archived) {
            return Ok(Applied::Ignored {
                course_id: course_id.to_owned(),
                current,
            });
        }
        self.delete_course(course_id);
        self.put_state(
            course_id,
            CourseState {
                version: current.map_or(0, |s| s.version),
                archived: true,
            },
        )?;
        Ok(Applied::Archived {
            course_id: course_id.to_owned(),
        })
    }

    /// Deletes every document of the course: course, lessons and state record.
    fn delete_course(&mut self, course_id: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.fields.course_id, course_id));
    }

    fn put_state(&mut self, course_id: &str, state: CourseState) -> Result<(), SearchError> {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.fields.kind, STATE_KIND);
        doc.add_text(self.fields.id, course_id);
        doc.add_text(self.fields.course_id, course_id);
        doc.add_u64(self.fields.version, state.version);
        doc.add_bool(self.fields.archived, state.archived);
        self.writer.add_document(doc)?;
        self.pending.insert(course_id.to_owned(), state);
        Ok(())
    }
}
