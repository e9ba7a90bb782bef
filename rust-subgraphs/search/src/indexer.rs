//! Applying course events to the index, and remembering how far into the stream it is.
//!
//! Each course's last applied version is kept in the index itself, in a `state` record
//! (see [`crate::schema`]), committed atomically with the course's documents; the last applied
//! JetStream stream sequence is kept in the commit's payload (tantivy's `meta.json`), committed
//! with them too. So after a crash the index, the versions and the sequence always agree: a
//! restart resumes from [`SearchIndex::last_sequence`](crate::SearchIndex::last_sequence) + 1
//! and whatever is replayed again is recognised as already applied.

use std::collections::HashMap;

use coursegraph_events::contracts::course::v1::{
    CourseArchived, CoursePublished, CourseSnapshot, CourseUpdated,
};
use coursegraph_events::{decode_event, Event, Subject};
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DateTime, IndexReader, IndexWriter, Searcher, TantivyDocument, Term};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::schema::{
    dimension, facet, facet_value, primary_language, DocKind, FieldSet, Fields, Level,
    TextField, TextLanguage, STATE_KIND,
};
use crate::SearchError;

/// A course event the index reacts to, decoded from its subject and protobuf payload.
#[derive(Debug, Clone, PartialEq)]
pub enum CourseEvent {
    /// `course.course.published`: the course's first publication.
    Published(CourseSnapshot),
    /// `course.course.updated`: a newer version of a published course.
    Updated(CourseSnapshot),
    /// `course.course.archived`: the course is no longer offered and leaves the index.
    Archived {
        /// The archived course.
        course_id: String,
    },
}

impl CourseEvent {
    /// Reads the event of a message that arrived on `subject`.
    ///
    /// Returns `Ok(None)` for subjects the index does not react to (e.g.
    /// `course.lesson.changed`: every publication carries the complete snapshot anyway); the
    /// consumer still records their sequence with [`Indexer::skip`].
    ///
    /// # Errors
    /// [`SearchError::Event`] when the payload is not a valid message of its subject;
    /// [`SearchError::InvalidEvent`] when a publication carries no snapshot.
    pub fn decode(subject: &Subject, payload: &[u8]) -> Result<Option<Self>, SearchError> {
        let snapshot = |course: Option<CourseSnapshot>, subject: &'static str| {
            course.ok_or_else(|| SearchError::InvalidEvent {
                subject,
                reason: "it carries no course snapshot".into(),
            })
        };
        let event = match subject.as_str() {
            s if s == CoursePublished::SUBJECT => {
                let event: CoursePublished = decode_event(subject, payload)?;
                Self::Published(snapshot(event.course, CoursePublished::SUBJECT)?)
            }
            s if s == CourseUpdated::SUBJECT => {
                let event: CourseUpdated = decode_event(subject, payload)?;
                Self::Updated(snapshot(event.course, CourseUpdated::SUBJECT)?)
            }
            s if s == CourseArchived::SUBJECT => {
                let event: CourseArchived = decode_event(subject, payload)?;
                Self::Archived {
                    course_id: event.course_id,
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    /// The subject of the event.
    pub fn subject(&self) -> &'static str {
        match self {
            Self::Published(_) => CoursePublished::SUBJECT,
            Self::Updated(_) => CourseUpdated::SUBJECT,
            Self::Archived { .. } => CourseArchived::SUBJECT,
        }
    }

    /// The course the event is about.
    pub fn course_id(&self) -> &str {
        match self {
            Self::Published(course) | Self::Updated(course) => &course.course_id,
            Self::Archived { course_id } => course_id,
        }
    }
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

/// The commit payload: where in the stream the committed index is.
#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    /// The last applied stream sequence (0: none).
    last_sequence: u64,
}

/// Reads the last applied stream sequence from a commit payload (`None`: no commit yet).
pub(crate) fn sequence_from_payload(payload: Option<&str>) -> Result<u64, SearchError> {
    match payload {
        None => Ok(0),
        Some(text) => serde_json::from_str::<CommitPayload>(text)
            .map(|p| p.last_sequence)
            .map_err(|e| SearchError::Corrupt {
                reason: format!("commit payload {text:?}: {e}"),
            }),
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
}

impl Indexer {
    pub(crate) fn new(
        writer: IndexWriter,
        reader: IndexReader,
        fields: Fields,
        committed_sequence: u64,
    ) -> Self {
        Self {
            writer,
            reader,
            fields,
            pending: HashMap::new(),
            last_sequence: committed_sequence,
            committed_sequence,
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

    /// Whether anything was applied or skipped since the last commit.
    pub fn has_uncommitted(&self) -> bool {
        !self.pending.is_empty() || self.last_sequence != self.committed_sequence
    }

    /// Makes every change since the last commit durable and visible to searches, together
    /// with [`Indexer::last_sequence`]. Returns the committed sequence.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails; call [`Indexer::rollback`] then, and
    /// re-read the stream from the last committed sequence.
    pub fn commit(&mut self) -> Result<u64, SearchError> {
        let payload = serde_json::to_string(&CommitPayload {
            last_sequence: self.last_sequence,
        })
        .map_err(|e| SearchError::Corrupt {
            reason: format!("cannot write the commit payload: {e}"),
        })?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        self.pending.clear();
        self.committed_sequence = self.last_sequence;
        Ok(self.committed_sequence)
    }

    /// Drops every change since the last commit.
    ///
    /// # Errors
    /// [`SearchError::Index`] when tantivy fails to restart its writer.
    pub fn rollback(&mut self) -> Result<(), SearchError> {
        self.writer.rollback()?;
        self.pending.clear();
        self.last_sequence = self.committed_sequence;
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

/// The documents of one course version.
struct CourseDocs {
    version: u64,
    course: TantivyDocument,
    lessons: Vec<TantivyDocument>,
}

impl CourseDocs {
    fn build(
        fields: &Fields,
        subject: &'static str,
        course: &CourseSnapshot,
    ) -> Result<Self, SearchError> {
        let invalid = |reason: String| SearchError::InvalidEvent { subject, reason };
        if course.course_id.trim().is_empty() {
            return Err(invalid("the course id is empty".into()));
        }
        let version = u64::try_from(course.version)
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| invalid(format!("version {} is below 1", course.version)))?;
        if let Some(lesson) = course.lessons.iter().find(|l| l.lesson_id.trim().is_empty()) {
            return Err(invalid(format!(
                "lesson at position {} has an empty id",
                lesson.position
            )));
        }
        let published_at = match course.published_at.trim() {
            "" => None,
            text => {
                let parsed = OffsetDateTime::parse(text, &Rfc3339)
                    .ok()
                    .and_then(DateTime::try_from_utc)
                    .ok_or_else(|| {
                        invalid(format!("published_at {text:?} is not an RFC 3339 time"))
                    })?;
                Some(parsed)
            }
        };

        let language = primary_language(&course.language);
        let text_language = language
            .as_deref()
            .map_or(TextLanguage::Other, TextLanguage::from_primary);
        let category = facet_value(&course.category);
        let level = Level::from_proto(course.level());
        let price = course.price.as_ref().map_or(0, |p| p.amount_minor);
        let is_free = price == 0;

        // What a course and its lessons share: identity, filters, facets.
        let mut common = TantivyDocument::new();
        common.add_text(fields.course_id, &course.course_id);
        common.add_text(fields.language, language.as_deref().unwrap_or_default());
        common.add_u64(fields.version, version);
        common.add_bool(fields.is_free, is_free);
        common.add_i64(fields.price, price);
        if let Some(money) = &course.price {
            common.add_text(fields.currency, &money.currency);
        }
        if let Some(at) = published_at {
            common.add_date(fields.published_at, at);
        }
        if let Some(category) = &category {
            common.add_text(fields.category, category);
            common.add_facet(fields.facets, facet(dimension::CATEGORY, category));
        }
        if let Some(level) = level {
            common.add_text(fields.level, level.as_str());
            common.add_facet(fields.facets, facet(dimension::LEVEL, level.as_str()));
        }
        if let Some(language) = &language {
            common.add_facet(fields.facets, facet(dimension::LANGUAGE, language));
        }
        let price_value = if is_free {
            dimension::FREE
        } else {
            dimension::PAID
        };
        common.add_facet(fields.facets, facet(dimension::PRICE, price_value));

        let mut doc = common.clone();
        doc.add_text(fields.kind, DocKind::Course.as_str());
        doc.add_text(fields.id, &course.course_id);
        let mut text = TextWriter {
            fields,
            language: text_language,
            doc: &mut doc,
        };
        text.add(TextField::Title, &course.title);
        for tag in &course.tags {
            text.add(TextField::Tags, tag);
        }
        text.add(TextField::Summary, &course.summary);
        text.add(TextField::Summary, &course.description);

        let lessons = course
            .lessons
            .iter()
            .map(|lesson| {
                let mut doc = common.clone();
                doc.add_text(fields.kind, DocKind::Lesson.as_str());
                doc.add_text(fields.id, &lesson.lesson_id);
                let mut text = TextWriter {
                    fields,
                    language: text_language,
                    doc: &mut doc,
                };
                text.add(TextField::Title, &lesson.title);
                text.add(TextField::Summary, &lesson.module_title);
                text.add(TextField::Body, &lesson.body_text);
                doc
            })
            .collect();

        Ok(Self {
            version,
            course: doc,
            lessons,
        })
    }
}

/// Adds a text to the raw field and to the stemmed field of the course's language.
struct TextWriter<'a> {
    fields: &'a Fields,
    language: TextLanguage,
    doc: &'a mut TantivyDocument,
}

impl TextWriter<'_> {
    fn add(&mut self, field: TextField, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.doc
            .add_text(self.fields.text(FieldSet::Raw, field), text);
        if let Some(set) = self.language.stemmed_set() {
            self.doc.add_text(self.fields.text(set, field), text);
        }
    }
}
