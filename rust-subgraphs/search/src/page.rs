//! What a search returns: one page of hits, with facet counts and the cursor to continue.

use tantivy::collector::FacetCounts;

use crate::schema::{dimension, DocKind};

/// One page of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// Best first.
    pub hits: Vec<Hit>,
    /// How many documents (courses, lessons and caption segments) match the query and filter.
    pub total_count: u64,
    /// Counts per facet value over the documents that match the query and filter.
    pub facets: Facets,
    /// The cursor of the last hit, to pass as `after` for the next page; `None` on an empty
    /// page.
    pub end_cursor: Option<String>,
    /// Whether a next page exists (and is served: see
    /// [`MAX_RESULT_WINDOW`](crate::MAX_RESULT_WINDOW)).
    pub has_next_page: bool,
}

/// A course, lesson or moment of a lesson's video that matches: an entity reference plus why
/// it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Course, lesson or caption.
    pub kind: DocKind,
    /// The course id, or the lesson id (lessons and captions).
    pub id: String,
    /// The course (for a course: its own id).
    pub course_id: String,
    /// Relevance; only comparable within one search.
    pub score: f32,
    /// Highlighted text.
    pub snippet: Snippet,
    /// For a caption hit: when the words are said, and in which caption language.
    pub caption: Option<CaptionMoment>,
}

/// Where in a lesson's video a caption hit's words are said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionMoment {
    /// The caption's language tag, lowercased (`en`, `pt-br`).
    pub language: String,
    /// Milliseconds from the start of the video.
    pub start_ms: u64,
    /// Milliseconds from the start of the video.
    pub end_ms: u64,
}

/// Highlighted text of a hit: HTML-escaped, matching words wrapped in `<b>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The whole title.
    pub title: String,
    /// The best fragment of the summary and description (courses), of the lesson text or
    /// module title (lessons), or the caption text (captions); `None` when the match was in the
    /// title or tags only.
    pub text: Option<String>,
}

/// Facet counts, each sorted by count (highest first), then by value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    /// Per category.
    pub category: Vec<FacetCount>,
    /// Per level: `beginner`, `intermediate`, `advanced`.
    pub level: Vec<FacetCount>,
    /// Per language (primary subtag: `en`, `ru`, ...).
    pub language: Vec<FacetCount>,
    /// `free` and `paid`.
    pub price: Vec<FacetCount>,
}

/// How many matching documents have a facet value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    /// The value, e.g. `programming`.
    pub value: String,
    /// How many documents (courses and lessons) have it.
    pub count: u64,
}

/// The facet roots a search counts.
pub(crate) const DIMENSIONS: [&str; 4] = [
    dimension::CATEGORY,
    dimension::LEVEL,
    dimension::LANGUAGE,
    dimension::PRICE,
];

impl Facets {
    pub(crate) fn from_counts(counts: &FacetCounts) -> Self {
        let values_of = |name: &str| {
            let mut values: Vec<FacetCount> = counts
                .get(tantivy::schema::Facet::from_path([name]))
                .filter_map(|(facet, count)| {
                    facet.to_path().last().map(|value| FacetCount {
                        value: (*value).to_owned(),
                        count,
                    })
                })
                .collect();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            values
        };
        Self {
            category: values_of(dimension::CATEGORY),
            level: values_of(dimension::LEVEL),
            language: values_of(dimension::LANGUAGE),
            price: values_of(dimension::PRICE),
        }
    }
}
