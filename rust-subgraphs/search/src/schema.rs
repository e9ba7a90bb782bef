//! The index's schema and text analysis.
//!
//! # One index, five kinds of documents
//!
//! | `kind` | one per | holds |
//! | --- | --- | --- |
//! | `course` | published course | its title, tags, summary and description |
//! | `lesson` | lesson of a published course | its title, module title, and body text when the body is public (see below) |
//! | `caption` | caption segment of a public lesson of a published course, per language | its text (in the `body` fields), `start_ms`, `end_ms`, the caption's language |
//! | `state` | course ever seen | the last applied `version`, and whether it is `archived` |
//! | `captions` | (lesson, caption language) ever seen on the video stream | the newest event's `changed_at` and its segments (stored, not indexed) |
//!
//! Every document of a course (course, lessons, caption segments, state) carries `course_id`,
//! so replacing or removing a course is one `delete_term(course_id)`. Lessons and caption
//! segments carry their course's attributes (language, category, level, price, version) so
//! that filters and facets apply to them as well. `state` and `captions` records have no
//! indexed text, so no search ever matches them; they live in the index (rather than in a file
//! beside it) so that they are committed atomically with the documents they describe.
//!
//! Captions come from another stream than courses, in no order relative to them, so they are
//! kept as `captions` records (keyed by `caption_key`: lesson and language) that do not carry
//! `course_id`: a course's archival or new version removes its `caption` segments but keeps
//! the records, and every course version builds the segments of its lessons again from them
//! (see [`crate::Indexer`]). A record's segments are the caption text as the video context
//! sent it, kept so that a lesson that becomes public later is searchable at once; no query
//! reads them (only `caption` documents are searched, and they exist only for public lessons).
//!
//! A lesson's body is indexed only when anyone may read it: the course is free, or the lesson
//! is a free preview (`documents::body_is_public`). The body of any other lesson of a paid
//! course is left out of every field, so it neither matches a query nor appears in a
//! snippet; the lesson is still found by its title and module title (the outline of a paid
//! course is public). Captions follow the same rule: a lesson's caption segments are indexed
//! only when its body would be, so the words said in a paid lesson neither match nor appear in
//! a snippet. What the index may hold is versioned by [`crate::INDEX_FORMAT`].
//!
//! # Per-language field sets
//!
//! A tantivy field has exactly one analyzer, and a course's language decides how its words
//! stem. So each searchable text field exists in three variants, and a document fills the
//! variants of its course's language:
//!
//! | set | analyzer | filled by |
//! | --- | --- | --- |
//! | `*_en` | `en_stem`: words, lowercased, English Snowball stemmer | courses in `en` |
//! | `*_ru` | `ru_stem`: words, lowercased, Russian Snowball stemmer | courses in `ru` |
//! | `*_raw` | `plain`: words, lowercased, not stemmed | every course and lesson |
//!
//! for `*` in `title`, `tags`, `summary` (course summary and description, or a lesson's module
//! title) and `body` (lesson text). A query's language is unknown, so a query word is stemmed
//! both ways and looked up in both stemmed sets; each set only holds words of its language,
//! so an English stem never meets Russian text. The `*_raw` set serves exact matches in any
//! language (a course in German is found by its words, just not by their inflections), the
//! fuzzy (typo) and prefix matches (which must work on the words as written, not on stems),
//! and it is the stored text that snippets are cut from.
//!
//! Rejected alternatives: a single field set with one multilingual analyzer cannot stem
//! correctly (the analyzer does not know the document's language); one index per language
//! would need merged scores and facets across indexes.
//!
//! Facets (category, level, language, price) are one facet field, `facets`, with one root per
//! dimension: `/category/programming`, `/level/beginner`, `/language/en`, `/price/free`.

use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing,
    TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::Index;

use crate::SearchError;

/// Name of the English analyzer: words, lowercased, English Snowball stemmer.
pub const EN_STEM: &str = "en_stem";
/// Name of the Russian analyzer: words, lowercased, Russian Snowball stemmer.
pub const RU_STEM: &str = "ru_stem";
/// Name of the unstemmed analyzer of the `*_raw` fields: words, lowercased.
pub const PLAIN: &str = "plain";

/// Words longer than this many bytes are not indexed (nor searched): they are not words but
/// base64 blobs, hashes and the like. 100 bytes is 50 Cyrillic or 100 Latin letters.
pub const MAX_WORD_BYTES: usize = 100;

/// The kind of a searchable document, and of a search hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A published course; the hit's `id` is the course id.
    Course,
    /// A lesson of a published course; the hit's `id` is the lesson id.
    Lesson,
    /// A caption segment of a lesson's video: the moment the words are said; the hit's `id` is
    /// the lesson id, and it has a start and end time.
    Caption,
}

impl DocKind {
    /// The value of the `kind` field: `course` or `lesson`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Course => "course",
            Self::Lesson => "lesson",
            Self::Caption => "caption",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "course" => Some(Self::Course),
            "lesson" => Some(Self::Lesson),
            "caption" => Some(Self::Caption),
            _ => None,
        }
    }
}

/// The `kind` of a course's state record.
pub(crate) const STATE_KIND: &str = "state";
/// The `kind` of a lesson's captions record in one language.
pub(crate) const CAPTIONS_KIND: &str = "captions";

/// A course's level, as a facet and a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// `COURSE_LEVEL_BEGINNER`.
    Beginner,
    /// `COURSE_LEVEL_INTERMEDIATE`.
    Intermediate,
    /// `COURSE_LEVEL_ADVANCED`.
    Advanced,
}

impl Level {
    /// The facet value: `beginner`, `intermediate` or `advanced`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beginner => "beginner",
            Self::Intermediate => "intermediate",
            Self::Advanced => "advanced",
        }
    }

    /// The level of a snapshot; `None` for `COURSE_LEVEL_UNSPECIFIED` (no level facet).
    pub fn from_proto(
        level: coursegraph_events::contracts::course::v1::CourseLevel,
    ) -> Option<Self> {
        use coursegraph_events::contracts::course::v1::CourseLevel;
        match level {
            CourseLevel::Unspecified => None,
            CourseLevel::Beginner => Some(Self::Beginner),
            CourseLevel::Intermediate => Some(Self::Intermediate),
            CourseLevel::Advanced => Some(Self::Advanced),
        }
    }
}

/// How a course's text is analysed, from its BCP 47 language tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextLanguage {
    English,
    Russian,
    /// Any other language: indexed in the `*_raw` fields only (found by its words as written).
    Other,
}

impl TextLanguage {
    /// From a language tag's primary subtag, as returned by [`primary_language`].
    pub(crate) fn from_primary(primary: &str) -> Self {
        match primary {
            "en" => Self::English,
            "ru" => Self::Russian,
            _ => Self::Other,
        }
    }

    /// The stemmed field set of the language, if it has one.
    pub(crate) fn stemmed_set(self) -> Option<FieldSet> {
        match self {
            Self::English => Some(FieldSet::En),
            Self::Russian => Some(FieldSet::Ru),
            Self::Other => None,
        }
    }
}

/// The primary subtag of a BCP 47 tag, lowercased (`en-US` → `en`); `None` unless it is 2 to 8
/// ASCII letters.
pub(crate) fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
    ((2..=8).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| primary.to_ascii_lowercase())
}

/// A searchable text field, in decreasing order of weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextField {
    Title,
    Tags,
    Summary,
    Body,
}

impl TextField {
    pub(crate) const ALL: [Self; 4] = [Self::Title, Self::Tags, Self::Summary, Self::Body];

    /// Field boost: title above tags above summary/description above lesson text.
    pub(crate) fn boost(self) -> f32 {
        match self {
            Self::Title => 4.0,
            Self::Tags => 3.0,
            Self::Summary => 2.0,
            Self::Body => 1.0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Tags => "tags",
            Self::Summary => "summary",
            Self::Body => "body",
        }
    }
}

/// A set of text fields analysed alike (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldSet {
    En,
    Ru,
    Raw,
}

impl FieldSet {
    const ALL: [Self; 3] = [Self::En, Self::Ru, Self::Raw];

    fn suffix(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
            Self::Raw => "raw",
        }
    }

    pub(crate) fn analyzer(self) -> &'static str {
        match self {
            Self::En => EN_STEM,
            Self::Ru => RU_STEM,
            Self::Raw => PLAIN,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::En => 0,
            Self::Ru => 1,
            Self::Raw => 2,
        }
    }
}

/// The schema's fields, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    /// `course`, `lesson` or `state`.
    pub kind: Field,
    /// The course id of a course or state record, the lesson id of a lesson.
    pub id: Field,
    /// The course id, on every document.
    pub course_id: Field,
    /// The primary language subtag (`en`), or empty when the course has no valid tag.
    pub language: Field,
    pub category: Field,
    pub level: Field,
    pub is_free: Field,
    /// Price in minor units (0 when free).
    pub price: Field,
    pub currency: Field,
    /// The course version the document was built from (on state records: the last applied).
    pub version: Field,
    pub published_at: Field,
    /// On state records: whether the course is archived.
    pub archived: Field,
    pub facets: Field,
    /// On lessons: whether its body (and captions) may be indexed (`documents::body_is_public`).
    pub public: Field,
    /// On caption segments and records: the lesson (a lesson's `id` is its own).
    pub lesson_id: Field,
    /// On caption segments: the lesson's title, stored only (a caption hit's title; indexing
    /// it would make every segment match the lesson's title).
    pub lesson_title: Field,
    /// On caption segments and records: the caption's language tag, lowercased (`en-gb`).
    pub caption_language: Field,
    /// On caption segments and records: lesson and caption language, the record's key (not
    /// stored).
    pub caption_key: Field,
    /// On caption segments: where the segment starts and ends in the video, in milliseconds.
    pub start_ms: Field,
    pub end_ms: Field,
    /// On caption records: the event's `changed_at`, in Unix nanoseconds (newest wins).
    pub changed_at: Field,
    /// On caption records: the segments, as JSON (stored only).
    pub segments: Field,
    text: [[Field; 4]; 3],
}

impl Fields {
    /// The field of `field` in `set`.
    pub(crate) fn text(&self, set: FieldSet, field: TextField) -> Field {
        let column = match field {
            TextField::Title => 0,
            TextField::Tags => 1,
            TextField::Summary => 2,
            TextField::Body => 3,
        };
        self.text[set.index()][column]
    }

    /// Resolves the fields by name in `schema`.
    ///
    /// # Errors
    /// [`SearchError::Index`] when a field is missing: the schema is not this crate's.
    pub(crate) fn resolve(schema: &Schema) -> Result<Self, SearchError> {
        let field = |name: &str| schema.get_field(name);
        let mut text = [[Field::from_field_id(0); 4]; 3];
        for set in FieldSet::ALL {
            for (column, tf) in TextField::ALL.into_iter().enumerate() {
                text[set.index()][column] = field(&text_field_name(tf, set))?;
            }
        }
        Ok(Self {
            kind: field("kind")?,
            id: field("id")?,
            course_id: field("course_id")?,
            language: field("language")?,
            category: field("category")?,
            level: field("level")?,
            is_free: field("is_free")?,
            price: field("price")?,
            currency: field("currency")?,
            version: field("version")?,
            published_at: field("published_at")?,
            archived: field("archived")?,
            facets: field("facets")?,
            public: field("public")?,
            lesson_id: field("lesson_id")?,
            lesson_title: field("lesson_title")?,
            caption_language: field("caption_language")?,
            caption_key: field("caption_key")?,
            start_ms: field("start_ms")?,
            end_ms: field("end_ms")?,
            changed_at: field("changed_at")?,
            segments: field("segments")?,
            text,
        })
    }
}

fn text_field_name(field: TextField, set: FieldSet) -> String {
    format!("{}_{}", field.name(), set.suffix())
}

/// The schema of the index. Changing it makes existing indexes fail to open with
/// [`SearchError::SchemaMismatch`]: the binary empties their folder and the consumer applies
/// the streams again.
pub(crate) fn build_schema() -> Schema {
    let mut builder = Schema::builder();
    builder.add_text_field("kind", STRING | STORED);
    builder.add_text_field("id", STRING | STORED);
    builder.add_text_field("course_id", STRING | STORED);
    builder.add_text_field("language", STRING | STORED);
    builder.add_text_field("category", STRING | STORED);
    builder.add_text_field("level", STRING | STORED);
    builder.add_bool_field("is_free", INDEXED | STORED | FAST);
    builder.add_i64_field("price", STORED | FAST);
    builder.add_text_field("currency", STRING | STORED);
    builder.add_u64_field("version", INDEXED | STORED | FAST);
    builder.add_date_field("published_at", INDEXED | STORED | FAST);
    builder.add_bool_field("archived", NumericOptions::default().set_stored());
    builder.add_facet_field("facets", FacetOptions::default());
    builder.add_bool_field("public", NumericOptions::default().set_stored());
    builder.add_text_field("lesson_id", STRING | STORED);
    builder.add_text_field("lesson_title", STORED);
    builder.add_text_field("caption_language", STRING | STORED);
    builder.add_text_field("caption_key", STRING);
    builder.add_u64_field("start_ms", STORED);
    builder.add_u64_field("end_ms", STORED);
    builder.add_i64_field("changed_at", STORED);
    builder.add_text_field("segments", STORED);
    for set in FieldSet::ALL {
        for field in TextField::ALL {
            // Frequencies for BM25; no positions: there are no phrase queries.
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(set.analyzer())
                .set_index_option(IndexRecordOption::WithFreqs);
            let mut options = TextOptions::default().set_indexing_options(indexing);
            if set == FieldSet::Raw {
                // Snippets are cut from the text as written.
                options = options.set_stored();
            }
            builder.add_text_field(&text_field_name(field, set), options);
        }
    }
    builder.build()
}

/// The analyzer of the `*_raw` fields, and of query words before stemming.
pub(crate) fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES + 1))
        .filter(LowerCaser)
        .build()
}

fn stem_analyzer(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES + 1))
        .filter(LowerCaser)
        .filter(Stemmer::new(language))
        .build()
}

/// Registers this crate's analyzers on `index` (tantivy does not persist them: every open
/// registers them again).
pub(crate) fn register_analyzers(index: &Index) {
    let tokenizers = index.tokenizers();
    tokenizers.register(EN_STEM, stem_analyzer(Language::English));
    tokenizers.register(RU_STEM, stem_analyzer(Language::Russian));
    tokenizers.register(PLAIN, plain_analyzer());
}

/// The analyzer registered as `name` on the searcher's index.
pub(crate) fn analyzer(index: &Index, name: &'static str) -> Result<TextAnalyzer, SearchError> {
    index
        .tokenizers()
        .get(name)
        .ok_or(SearchError::MissingTokenizer(name))
}

/// A facet value as stored: trimmed, lowercased, without control characters (which would break
/// the facet path encoding); `None` when nothing is left.
pub(crate) fn facet_value(raw: &str) -> Option<String> {
    let value: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    (!value.is_empty()).then_some(value)
}

/// The facet `/<dimension>/<value>`, built segment by segment (no parsing: a value may hold
/// `/` or `\`).
pub(crate) fn facet(dimension: &str, value: &str) -> Facet {
    Facet::from_path([dimension, value])
}

/// Facet dimension names.
pub(crate) mod dimension {
    pub(crate) const CATEGORY: &str = "category";
    pub(crate) const LEVEL: &str = "level";
    pub(crate) const LANGUAGE: &str = "language";
    pub(crate) const PRICE: &str = "price";
    /// The values of [`PRICE`].
    pub(crate) const FREE: &str = "free";
    pub(crate) const PAID: &str = "paid";
}
