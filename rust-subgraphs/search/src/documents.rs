//! The documents of a course version: one for the course, one per lesson.

use coursegraph_events::contracts::course::v1::{CourseSnapshot, Lesson};
use tantivy::{DateTime, TantivyDocument};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::schema::{
    dimension, facet, facet_value, primary_language, DocKind, FieldSet, Fields, Level, TextField,
    TextLanguage,
};
use crate::SearchError;

/// The documents of one course version.
pub(crate) struct CourseDocs {
    pub version: u64,
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

        let language = primary_language(&course.language);
        let text_language = language
            .as_deref()
            .map_or(TextLanguage::Other, TextLanguage::from_primary);
        let category = facet_value(&course.category);
        let level = Level::from_proto(course.level());
        let price = course_price(course);
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
            course: doc,
            lessons,
        })
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
