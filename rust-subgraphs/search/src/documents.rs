//! The documents of a course version (one for the course, one per lesson), and of a lesson's
//! captions (a record per language, a document per segment of a public lesson).

use coursegraph_events::contracts::course::v1::{CourseSnapshot, Lesson};
use tantivy::{DateTime, TantivyDocument};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use tantivy::schema::Value;

use crate::captions::CaptionSegment;
use crate::schema::{
    dimension, facet, facet_value, primary_language, DocKind, FieldSet, Fields, Level, TextField,
    TextLanguage, CAPTIONS_KIND,
};
use crate::SearchError;

/// The documents of one course version.
pub(crate) struct CourseDocs {
    pub version: u64,
    pub facts: CourseFacts,
    pub course: TantivyDocument,
    pub lessons: Vec<TantivyDocument>,
}

impl CourseDocs {
    /// Builds them, checking what the index relies on.
    pub(crate) fn build(
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
        if let Some(lesson) = course
            .lessons
            .iter()
            .find(|l| l.lesson_id.trim().is_empty())
        {
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

        let facts = CourseFacts {
            course_id: course.course_id.clone(),
            language: primary_language(&course.language),
            category: facet_value(&course.category),
            level: Level::from_proto(course.level()),
            price: course_price(course),
            currency: course.price.as_ref().map(|money| money.currency.clone()),
            version,
            published_at,
        };
        let text_language = facts.text_language();
        let common = facts.common(fields);

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
                doc.add_bool(fields.public, body_is_public(course, lesson));
                let mut text = TextWriter {
                    fields,
                    language: text_language,
                    doc: &mut doc,
                };
                text.add(TextField::Title, &lesson.title);
                text.add(TextField::Summary, &lesson.module_title);
                // A paid lesson keeps its place in the public outline (title, module title);
                // its text stays out of the index, so nothing matches it or quotes it.
                if body_is_public(course, lesson) {
                    text.add(TextField::Body, &lesson.body_text);
                }
                doc
            })
            .collect();

        Ok(Self {
            version,
            facts,
            course: doc,
            lessons,
        })
    }
}

/// What every document of a course version carries: identity, filters and facets. Built from
/// a snapshot, or read back from a stored lesson when a caption arrives for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CourseFacts {
    pub course_id: String,
    /// Primary subtag of the course's language.
    pub language: Option<String>,
    pub category: Option<String>,
    pub level: Option<Level>,
    /// In minor units; 0 is free.
    pub price: i64,
    pub currency: Option<String>,
    pub version: u64,
    pub published_at: Option<DateTime>,
}

impl CourseFacts {
    /// How the course's own text is analysed.
    pub(crate) fn text_language(&self) -> TextLanguage {
        self.language
            .as_deref()
            .map_or(TextLanguage::Other, TextLanguage::from_primary)
    }

    /// A document holding the facts (stored fields and facets), to add a kind and text to.
    pub(crate) fn common(&self, fields: &Fields) -> TantivyDocument {
        let is_free = self.price == 0;
        let mut common = TantivyDocument::new();
        common.add_text(fields.course_id, &self.course_id);
        common.add_text(
            fields.language,
            self.language.as_deref().unwrap_or_default(),
        );
        common.add_u64(fields.version, self.version);
        common.add_bool(fields.is_free, is_free);
        common.add_i64(fields.price, self.price);
        if let Some(currency) = &self.currency {
            common.add_text(fields.currency, currency);
        }
        if let Some(at) = self.published_at {
            common.add_date(fields.published_at, at);
        }
        if let Some(category) = &self.category {
            common.add_text(fields.category, category);
            common.add_facet(fields.facets, facet(dimension::CATEGORY, category));
        }
        if let Some(level) = self.level {
            common.add_text(fields.level, level.as_str());
            common.add_facet(fields.facets, facet(dimension::LEVEL, level.as_str()));
        }
        if let Some(language) = &self.language {
            common.add_facet(fields.facets, facet(dimension::LANGUAGE, language));
        }
        let price_value = if is_free {
            dimension::FREE
        } else {
            dimension::PAID
        };
        common.add_facet(fields.facets, facet(dimension::PRICE, price_value));
        common
    }

    /// The facts as [`CourseFacts::common`] stored them on `doc`; `None` when a field every
    /// course document has is missing.
    pub(crate) fn from_stored(fields: &Fields, doc: &TantivyDocument) -> Option<Self> {
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let level = text(fields.level).and_then(|stored| {
            [Level::Beginner, Level::Intermediate, Level::Advanced]
                .into_iter()
                .find(|level| level.as_str() == stored)
        });
        Some(Self {
            course_id: text(fields.course_id)?,
            language: text(fields.language).filter(|l| !l.is_empty()),
            category: text(fields.category),
            level,
            price: doc.get_first(fields.price).and_then(|v| v.as_i64())?,
            currency: text(fields.currency),
            version: doc.get_first(fields.version).and_then(|v| v.as_u64())?,
            published_at: doc
                .get_first(fields.published_at)
                .and_then(|v| v.as_datetime()),
        })
    }
}

/// The key of a lesson's captions in one language: the `caption_key` of its record and
/// segments.
pub(crate) fn caption_key(lesson_id: &str, language: &str) -> String {
    // U+001F cannot be in a language tag (checked on decoding), so keys never collide.
    format!("{lesson_id}\u{1f}{language}")
}

/// What the index keeps of a lesson's captions in one language: the newest event's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaptionRecord {
    pub lesson_id: String,
    pub language: String,
    /// `changed_at` in Unix nanoseconds.
    pub changed_at: i64,
    /// Empty once the language was removed (the record stays, so an older event that arrives
    /// late cannot bring it back).
    pub segments: Vec<CaptionSegment>,
}

impl CaptionRecord {
    pub(crate) fn key(&self) -> String {
        caption_key(&self.lesson_id, &self.language)
    }

    /// The record's document (`kind` `captions`; no `course_id`, see [`crate::schema`]).
    pub(crate) fn to_doc(&self, fields: &Fields) -> Result<TantivyDocument, SearchError> {
        let segments = serde_json::to_string(&self.segments).map_err(|e| SearchError::Corrupt {
            reason: "cannot write a captions record".into(),
            source: Some(e),
        })?;
        let mut doc = TantivyDocument::new();
        doc.add_text(fields.kind, CAPTIONS_KIND);
        doc.add_text(fields.lesson_id, &self.lesson_id);
        doc.add_text(fields.caption_language, &self.language);
        doc.add_text(fields.caption_key, self.key());
        doc.add_i64(fields.changed_at, self.changed_at);
        doc.add_text(fields.segments, segments);
        Ok(doc)
    }

    /// Reads a record back.
    pub(crate) fn from_stored(fields: &Fields, doc: &TantivyDocument) -> Result<Self, SearchError> {
        let text = |field| doc.get_first(field).and_then(|v| v.as_str());
        let corrupt = |reason: &str, source| SearchError::Corrupt {
            reason: format!("a captions record {reason}"),
            source,
        };
        let (Some(lesson_id), Some(language), Some(changed_at), Some(segments)) = (
            text(fields.lesson_id),
            text(fields.caption_language),
            doc.get_first(fields.changed_at).and_then(|v| v.as_i64()),
            text(fields.segments),
        ) else {
            return Err(corrupt("lacks a field", None));
        };
        Ok(Self {
            lesson_id: lesson_id.to_owned(),
            language: language.to_owned(),
            changed_at,
            segments: serde_json::from_str(segments)
                .map_err(|e| corrupt("holds unreadable segments", Some(e)))?,
        })
    }

    /// The searchable documents of the record's segments in a lesson of a course version:
    /// each carries the course's facts, the lesson (id and title, for the hit) and its times;
    /// its text is analysed by the caption's language, not the course's.
    pub(crate) fn segment_docs(
        &self,
        fields: &Fields,
        facts: &CourseFacts,
        lesson_title: &str,
    ) -> Vec<TantivyDocument> {
        let language = primary_language(&self.language)
            .map_or(TextLanguage::Other, |l| TextLanguage::from_primary(&l));
        let common = facts.common(fields);
        self.segments
            .iter()
            .map(|segment| {
                let mut doc = common.clone();
                doc.add_text(fields.kind, DocKind::Caption.as_str());
                doc.add_text(fields.id, &self.lesson_id);
                doc.add_text(fields.lesson_id, &self.lesson_id);
                doc.add_text(fields.lesson_title, lesson_title);
                doc.add_text(fields.caption_language, &self.language);
                doc.add_text(fields.caption_key, self.key());
                doc.add_u64(fields.start_ms, segment.start_ms);
                doc.add_u64(fields.end_ms, segment.end_ms);
                TextWriter {
                    fields,
                    language,
                    doc: &mut doc,
                }
                .add(TextField::Body, &segment.text);
                doc
            })
            .collect()
    }
}

/// A course's price in minor units; a course without a price is free.
fn course_price(course: &CourseSnapshot) -> i64 {
    course.price.as_ref().map_or(0, |p| p.amount_minor)
}

/// Whether a lesson's body may be indexed, and so matched and cut into `textSnippet`s: only
/// when anyone may read it, i.e. the course is free (price 0) or the instructor marked the
/// lesson a free preview. Search answers anonymous callers and cannot tell who holds an
/// entitlement, so the body of a paid lesson never enters the index at all (a price that is
/// not 0, even a malformed negative one, counts as paid). The course subgraph applies the same
/// rule to `Lesson.body` for callers without an entitlement.
pub(crate) fn body_is_public(course: &CourseSnapshot, lesson: &Lesson) -> bool {
    course_price(course) == 0 || lesson.free_preview
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

#[cfg(test)]
mod tests {
    use coursegraph_events::contracts::course::v1::Money;

    use super::*;

    #[test]
    fn a_body_is_public_in_a_free_course_or_as_a_free_preview() {
        let price = |amount_minor| {
            Some(Money {
                amount_minor,
                currency: "EUR".into(),
            })
        };
        // (price, free preview) → public
        let cases = [
            ((None, false), true),
            ((price(0), false), true),
            ((price(4_900), false), false),
            ((price(4_900), true), true),
            ((price(0), true), true),
            // Malformed: never free.
            ((price(-1), false), false),
        ];
        for ((price, free_preview), public) in cases {
            let course = CourseSnapshot {
                price: price.clone(),
                ..Default::default()
            };
            let lesson = Lesson {
                free_preview,
                ..Default::default()
            };
            assert_eq!(
                body_is_public(&course, &lesson),
                public,
                "price {price:?}, free preview {free_preview}"
            );
        }
    }
}
