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
//!
//! The index follows two streams ([`Source`]): course events, and the video context's caption
//! events. Each has its own position (sequence and identity) in the payload, and the one
//! `Indexer` applies both, so a commit always holds both positions and the documents they led
//! to. Captions are kept as records per lesson and language whatever the order the two streams
//! arrive in; a caption for a lesson no course has published yet is kept, and becomes
//! searchable (with its course's facets) when the course is applied (see
//! [`Indexer::apply_captions`]).

use std::collections::HashMap;

use coursegraph_events::contracts::course::v1::CourseSnapshot;
use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{IndexReader, IndexWriter, Searcher, TantivyDocument, Term};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::captions::CaptionsEvent;
use crate::documents::{body_is_public, caption_key, CaptionRecord, CourseDocs, CourseFacts};
use crate::event::CourseEvent;
use crate::schema::{DocKind, FieldSet, Fields, TextField, CAPTIONS_KIND, STATE_KIND};
use crate::SearchError;

/// A stream the index follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The course context's events (`COURSE`): courses and lessons.
    Course,
    /// The video context's events (`VIDEO`): lessons' captions.
    Captions,
}

impl Source {
    /// Both, in the order the consumer sets them up.
    pub const ALL: [Self; 2] = [Self::Course, Self::Captions];

    fn slot(self) -> usize {
        match self {
            Self::Course => 0,
            Self::Captions => 1,
        }
    }

    /// `course` or `captions` (for logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Course => "course",
            Self::Captions => "captions",
        }
    }
}

/// What [`Indexer::apply_captions`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptionsApplied {
    /// The language's captions were replaced by the event's; `segments` of them are
    /// searchable now (0 until the lesson is public in a published course the index holds).
    Indexed {
        /// Segments searchable now.
        segments: usize,
    },
    /// The language's captions were removed.
    Removed,
    /// Nothing changed: the index holds a change of this language at least as recent.
    Ignored,
}

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
    /// Where in the caption stream ([`Source::Captions`]) the index is (absent: nowhere yet).
    #[serde(default, skip_serializing_if = "Position::is_start")]
    pub(crate) captions: Position,
}

/// The last applied sequence of a stream, and which stream history it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    pub(crate) last_sequence: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stream: Option<StreamIdentity>,
}

impl Position {
    fn is_start(&self) -> bool {
        *self == Self::default()
    }
}

impl Default for CommitPayload {
    /// Nothing committed yet: sequence 0 of no stream, and no document of any older format.
    fn default() -> Self {
        Self {
            last_sequence: 0,
            stream: None,
            format: INDEX_FORMAT,
            captions: Position::default(),
        }
    }
}

impl CommitPayload {
    /// The position of `source`.
    pub(crate) fn position(&self, source: Source) -> Position {
        match source {
            Source::Course => Position {
                last_sequence: self.last_sequence,
                stream: self.stream.clone(),
            },
            Source::Captions => self.captions.clone(),
        }
    }

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

fn term_query(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
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
    /// Caption records written since the last commit, by key.
    pending_captions: HashMap<String, CaptionRecord>,
    /// Per [`Source`]: the highest sequence applied and its stream, committed or not.
    positions: [Position; 2],
    committed: [Position; 2],
}

impl Indexer {
    pub(crate) fn new(
        writer: IndexWriter,
        reader: IndexReader,
        fields: Fields,
        committed: CommitPayload,
    ) -> Self {
        let positions = Source::ALL.map(|source| committed.position(source));
        Self {
            writer,
            reader,
            fields,
            pending: HashMap::new(),
            pending_captions: HashMap::new(),
            committed: positions.clone(),
            positions,
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

    /// Applies the captions event found at sequence `sequence` of the caption stream.
    ///
    /// The newest event per lesson and language wins (by `changed_at`): the language's record
    /// and segments are replaced by the event's (removed when it has no segments; the record
    /// stays, empty, so an older event that arrives late cannot bring them back). Its segments
    /// are searchable when the index holds the lesson in a published course and the lesson is
    /// public (see [`crate::schema`]); otherwise only the record is kept, and the course's next
    /// version builds the segments from it.
    ///
    /// # Errors
    /// [`SearchError::InvalidEvent`] when `changed_at` is outside what the index can store
    /// (nothing changes); [`SearchError::Index`] when tantivy fails.
    pub fn apply_captions(
        &mut self,
        sequence: u64,
        event: &CaptionsEvent,
    ) -> Result<CaptionsApplied, SearchError> {
        let applied = self.index_captions(event)?;
        self.skip_of(Source::Captions, sequence);
        Ok(applied)
    }

    /// Records that the message at `sequence` was handled without changing the index (an
    /// event the index does not react to, or one rejected as invalid), so that a restart does
    /// not read it again. The course stream's; see [`Indexer::skip_of`].
    pub fn skip(&mut self, sequence: u64) {
        self.skip_of(Source::Course, sequence);
    }

    /// [`Indexer::skip`] for the message at `sequence` of `source`'s stream.
    pub fn skip_of(&mut self, source: Source, sequence: u64) {
        let position = &mut self.positions[source.slot()];
        position.last_sequence = position.last_sequence.max(sequence);
    }

    /// The highest course stream sequence applied or skipped, committed or not.
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence_of(Source::Course)
    }

    /// The highest sequence of `source`'s stream applied or skipped, committed or not.
    pub fn last_sequence_of(&self, source: Source) -> u64 {
        self.positions[source.slot()].last_sequence
    }

    /// The stream history [`Indexer::last_sequence`] belongs to, committed or not (`None`: an
    /// empty index, or one written before identities were recorded).
    pub fn stream(&self) -> Option<&StreamIdentity> {
        self.stream_of(Source::Course)
    }

    /// The stream history of `source`'s sequences, committed or not.
    pub fn stream_of(&self, source: Source) -> Option<&StreamIdentity> {
        self.positions[source.slot()].stream.as_ref()
    }

    /// Says which stream history the course sequences belong to; see [`Indexer::set_stream_of`].
    pub fn set_stream(&mut self, stream: StreamIdentity) {
        self.set_stream_of(Source::Course, stream);
    }

    /// Says which stream history `source`'s sequences belong to; committed with the next
    /// [`Indexer::commit`] (or reset). Changing it does not touch the documents: to follow
    /// another stream, [`Indexer::reset_of`] right after.
    pub fn set_stream_of(&mut self, source: Source, stream: StreamIdentity) {
        self.positions[source.slot()].stream = Some(stream);
    }

    /// Whether anything was applied or skipped, or a stream changed, since the last commit.
    pub fn has_uncommitted(&self) -> bool {
        !self.pending.is_empty()
            || !self.pending_captions.is_empty()
            || self.positions != self.committed
    }

    /// Makes every change since the last commit durable and visible to searches, together
    /// with both streams' positions. Returns the committed course stream sequence.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails; call [`Indexer::rollback`] then, and
    /// re-read the streams from their last committed sequences.
    pub fn commit(&mut self) -> Result<u64, SearchError> {
        let [course, captions] = self.positions.clone();
        let payload = serde_json::to_string(&CommitPayload {
            last_sequence: course.last_sequence,
            stream: course.stream,
            // Every document this writer adds follows this build's rules; an index of another
            // format is emptied before a writer of this build touches it (`open_or_create`).
            format: INDEX_FORMAT,
            captions,
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
        self.pending_captions.clear();
        self.committed.clone_from(&self.positions);
        Ok(self.last_sequence())
    }

    /// Empties what the course stream built (courses, lessons, caption segments, states) and
    /// commits it at course sequence 0, so that the stream can be applied again from its
    /// first message; see [`Indexer::reset_of`].
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails.
    pub fn reset(&mut self) -> Result<(), SearchError> {
        self.reset_of(Source::Course)
    }

    /// Empties what `source`'s stream built and commits it at sequence 0 of that stream, so
    /// that it can be applied again from its first message. Changes not committed yet are
    /// dropped first, except the stream just set with [`Indexer::set_stream_of`], which is
    /// committed with the emptied index: from then on the index is a (growing) prefix of that
    /// stream, whatever interrupts the replay.
    ///
    /// - [`Source::Course`]: courses, lessons, caption segments and course states go; caption
    ///   records stay (they are the caption stream's, whose position is unchanged), and the
    ///   courses applied again build their segments from them.
    /// - [`Source::Captions`]: caption records and segments go; courses stay, and the captions
    ///   applied again find their lessons in them.
    ///
    /// Committed at once: states and records are read from the committed index, and an
    /// uncommitted emptying would let the old ones ignore the events applied again.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails.
    pub fn reset_of(&mut self, source: Source) -> Result<(), SearchError> {
        let kinds: &[&str] = match source {
            Source::Course => &[
                DocKind::Course.as_str(),
                DocKind::Lesson.as_str(),
                DocKind::Caption.as_str(),
                STATE_KIND,
            ],
            Source::Captions => &[DocKind::Caption.as_str(), CAPTIONS_KIND],
        };
        let stream = self.positions[source.slot()].stream.take();
        self.rollback()?;
        for kind in kinds {
            self.writer
                .delete_term(Term::from_field_text(self.fields.kind, kind));
        }
        self.positions[source.slot()] = Position {
            last_sequence: 0,
            stream,
        };
        self.commit()?;
        Ok(())
    }

    /// Empties the whole index and commits it at sequence 0 of both streams (keeping their
    /// identities): an index built under other rules must not keep anything.
    pub(crate) fn reset_all(&mut self) -> Result<(), SearchError> {
        self.rollback()?;
        self.writer.delete_all_documents()?;
        for position in &mut self.positions {
            position.last_sequence = 0;
        }
        self.commit()?;
        Ok(())
    }

    /// Deletes the files of segments no commit refers to any more (tantivy also does so after
    /// merges, but not right away): after a reset, the emptied documents' files.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails.
    pub(crate) fn collect_garbage(&mut self) -> Result<(), SearchError> {
        self.writer.garbage_collect_files().wait()?;
        Ok(())
    }

    /// Drops every change since the last commit (documents, sequences and streams).
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails to restart its writer.
    pub fn rollback(&mut self) -> Result<(), SearchError> {
        self.writer.rollback()?;
        self.pending.clear();
        self.pending_captions.clear();
        self.positions.clone_from(&self.committed);
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
        // The public lessons' captions, read before the deletion below is queued (reads see
        // the committed index either way).
        let public: Vec<&str> = course
            .lessons
            .iter()
            .filter(|lesson| body_is_public(course, lesson))
            .map(|lesson| lesson.lesson_id.as_str())
            .collect();
        let mut records = self.caption_records(&public)?;
        self.delete_course(&course_id);
        self.writer.add_document(docs.course)?;
        for lesson in docs.lessons {
            self.writer.add_document(lesson)?;
        }
        for lesson in course.lessons.iter().filter(|l| body_is_public(course, l)) {
            for record in records
                .remove(lesson.lesson_id.as_str())
                .unwrap_or_default()
            {
                for doc in record.segment_docs(&self.fields, &docs.facts, &lesson.title) {
                    self.writer.add_document(doc)?;
                }
            }
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

    fn index_captions(&mut self, event: &CaptionsEvent) -> Result<CaptionsApplied, SearchError> {
        let changed_at = i64::try_from(event.changed_at.unix_timestamp_nanos()).map_err(|_| {
            SearchError::InvalidEvent {
                subject: event.subject(),
                reason: format!("changed_at {} is out of range", event.changed_at),
            }
        })?;
        let key = caption_key(&event.lesson_id, &event.language);
        if self
            .caption_changed_at(&key)?
            .is_some_and(|current| current >= changed_at)
        {
            return Ok(CaptionsApplied::Ignored);
        }
        let lesson = if event.segments.is_empty() {
            None
        } else {
            self.public_lesson(&event.lesson_id)?
        };
        let record = CaptionRecord {
            lesson_id: event.lesson_id.clone(),
            language: event.language.clone(),
            changed_at,
            segments: event.segments.clone(),
        };
        // The record and its segments share the key: one deletion replaces both.
        self.writer
            .delete_term(Term::from_field_text(self.fields.caption_key, &key));
        self.writer.add_document(record.to_doc(&self.fields)?)?;
        let mut segments = 0;
        if let Some((facts, title)) = lesson {
            for doc in record.segment_docs(&self.fields, &facts, &title) {
                self.writer.add_document(doc)?;
                segments += 1;
            }
        }
        let removed = record.segments.is_empty();
        self.pending_captions.insert(key, record);
        Ok(if removed {
            CaptionsApplied::Removed
        } else {
            CaptionsApplied::Indexed { segments }
        })
    }

    /// The `changed_at` of a caption record, including changes not committed yet.
    fn caption_changed_at(&self, key: &str) -> Result<Option<i64>, SearchError> {
        if let Some(record) = self.pending_captions.get(key) {
            return Ok(Some(record.changed_at));
        }
        let searcher = self.reader.searcher();
        let query = self.kind_and(CAPTIONS_KIND, self.fields.caption_key, key);
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, address)) = top.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*address)?;
        Ok(Some(
            CaptionRecord::from_stored(&self.fields, &doc)?.changed_at,
        ))
    }

    /// The course facts and title of a lesson whose captions may be indexed: it is in a
    /// published course the index holds, and public. `None` otherwise.
    fn public_lesson(
        &mut self,
        lesson_id: &str,
    ) -> Result<Option<(CourseFacts, String)>, SearchError> {
        // A course applied since the last commit is not readable yet (tantivy reads committed
        // segments only), and the lesson may be in it: commit first. Both streams' positions
        // are committed with it, so a crash right after resumes consistently; it happens only
        // when a caption follows a course event within one batch.
        if !self.pending.is_empty() {
            self.commit()?;
        }
        let searcher = self.reader.searcher();
        let query = self.kind_and(DocKind::Lesson.as_str(), self.fields.id, lesson_id);
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, address)) = top.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*address)?;
        if doc.get_first(self.fields.public).and_then(|v| v.as_bool()) != Some(true) {
            return Ok(None);
        }
        let facts =
            CourseFacts::from_stored(&self.fields, &doc).ok_or_else(|| SearchError::Corrupt {
                reason: format!("lesson {lesson_id} lacks its course's fields"),
                source: None,
            })?;
        let title = doc
            .get_first(self.fields.text(FieldSet::Raw, TextField::Title))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(Some((facts, title)))
    }

    /// The caption records of `lessons` (those not committed yet included), by lesson.
    fn caption_records(
        &self,
        lessons: &[&str],
    ) -> Result<HashMap<String, Vec<CaptionRecord>>, SearchError> {
        let mut by_key: HashMap<String, CaptionRecord> = HashMap::new();
        if !lessons.is_empty() {
            let searcher = self.reader.searcher();
            let any_lesson: Vec<(Occur, Box<dyn Query>)> = lessons
                .iter()
                .map(|lesson| (Occur::Should, term_query(self.fields.lesson_id, lesson)))
                .collect();
            let query = BooleanQuery::new(vec![
                (Occur::Must, term_query(self.fields.kind, CAPTIONS_KIND)),
                (Occur::Must, Box::new(BooleanQuery::new(any_lesson))),
            ]);
            for address in searcher.search(&query, &DocSetCollector)? {
                let doc: TantivyDocument = searcher.doc(address)?;
                let record = CaptionRecord::from_stored(&self.fields, &doc)?;
                by_key.insert(record.key(), record);
            }
        }
        for (key, record) in &self.pending_captions {
            if lessons.contains(&record.lesson_id.as_str()) {
                by_key.insert(key.clone(), record.clone());
            }
        }
        let mut by_lesson: HashMap<String, Vec<CaptionRecord>> = HashMap::new();
        for record in by_key.into_values() {
            by_lesson
                .entry(record.lesson_id.clone())
                .or_default()
                .push(record);
        }
        Ok(by_lesson)
    }

    /// Documents of `kind` whose `field` is `value`.
    fn kind_and(&self, kind: &str, field: tantivy::schema::Field, value: &str) -> BooleanQuery {
        BooleanQuery::new(vec![
            (Occur::Must, term_query(self.fields.kind, kind)),
            (Occur::Must, term_query(field, value)),
        ])
    }

    /// Deletes every document of the course: course, lessons, caption segments and state
    /// record (not its lessons' caption records, which do not carry the course).
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
