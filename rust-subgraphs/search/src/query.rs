//! Running a search: the tantivy query built from the request, and the page built from the
//! results.

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::{DocAddress, Score, Searcher, TantivyDocument, Term};

use crate::highlight::Highlighter;
use crate::page::{CaptionMoment, Facets, Hit, SearchPage, Snippet, DIMENSIONS};
use crate::request::ValidRequest;
use crate::schema::{
    dimension, facet, primary_language, DocKind, FieldSet, Fields, TextField, TextLanguage,
};
use crate::words::{self, QueryWord};
use crate::{cursor, SearchError, SearchRequest, MAX_RESULT_WINDOW};

/// Weight of a fuzzy or prefix match relative to an exact match in the same field.
const APPROXIMATE_WEIGHT: Score = 0.5;
/// Weight of BM25 relative to the field boost of an exact match.
const BM25_WEIGHT: Score = 0.1;

/// Runs `request` against `searcher` (a searcher of an index opened by
/// [`SearchIndex`](crate::SearchIndex), which registers the analyzers).
///
/// # How a query matches
///
/// User text never reaches tantivy's query parser. The query is built programmatically: every
/// word of the query must match (a `Must` clause per word), and a word matches a document
/// when any of these clauses does (`Should`), in any of the text fields:
///
/// | clause | fields | adds to the score |
/// | --- | --- | --- |
/// | the word as typed, its English stem or its Russian stem | `*_raw`, `*_en`, `*_ru` | boost |
/// | the word as typed, ranked by BM25 | `*_raw` | boost × 0.1 × BM25 |
/// | the word with 1 typo (5 to 8 characters) or 2 (9 and more) | `*_raw` | boost × 0.5 |
/// | the last word as a prefix (2 characters and more) | `*_raw` | boost × 0.5 |
///
/// where the boost is the field's: title 4, tags 3, summary/description 2, lesson text 1.
///
/// Why constant field weights first and BM25 only as a tie-breaker: tantivy's BM25 normalises
/// a field's length by its average over *all* documents, and here most fields are sparse (only
/// courses have tags, only lessons have text), so BM25 alone would penalise a tag match enough
/// to fall below a description match. A match's field decides its rank; BM25 (term frequency,
/// rarity, field length) orders the matches of the same fields. Fuzzy and prefix matches weigh
/// half an exact match in the same field (an exact word also matches its own fuzzy and prefix
/// clauses, so it always ranks above a typo). Filters are `Must` facet terms that add nothing.
///
/// # Errors
/// The request's own problems first ([`SearchError::is_bad_input`]): an empty or too long
/// query, too many words, `first` outside 1..=100, an invalid cursor, an invalid filter. Then
/// the index's: [`SearchError::Index`], [`SearchError::MissingTokenizer`],
/// [`SearchError::Corrupt`].
pub fn search(searcher: &Searcher, request: &SearchRequest) -> Result<SearchPage, SearchError> {
    let request = request.validate()?;
    let index = searcher.index();
    let schema = searcher.schema();
    let fields = Fields::resolve(schema)?;
    let words = words::analyze(index, request.query)?;
    let query = build_query(&fields, &words, &request);

    // `offset < MAX_RESULT_WINDOW` (validated), so the limit is at least 1.
    let limit = request.first.min(MAX_RESULT_WINDOW - request.offset);
    let top = TopDocs::with_limit(limit)
        .and_offset(request.offset)
        .order_by_score();
    let mut facets = FacetCollector::for_field(schema.get_field_name(fields.facets));
    for name in DIMENSIONS {
        facets.add_facet(Facet::from_path([name]));
    }
    let (top, total, facet_counts) = searcher.search(&query, &(top, Count, facets))?;

    let mut highlighter = Highlighter::new(index, &words)?;
    let hits = top
        .into_iter()
        .map(|(score, address)| read_hit(searcher, &fields, &mut highlighter, score, address))
        .collect::<Result<Vec<_>, _>>()?;

    let end = request.offset + hits.len();
    Ok(SearchPage {
        total_count: total as u64,
        facets: Facets::from_counts(&facet_counts),
        end_cursor: end
            .checked_sub(1)
            .filter(|_| !hits.is_empty())
            .map(cursor::encode),
        has_next_page: end < total && end < MAX_RESULT_WINDOW,
        hits,
    })
}

fn build_query(fields: &Fields, words: &[QueryWord], request: &ValidRequest<'_>) -> BooleanQuery {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .map(|word| (Occur::Must, word_query(fields, word)))
        .collect();

    let mut filter = |dimension: &str, value: &str| {
        let term = Term::from_facet(fields.facets, &facet(dimension, value));
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(query), 0.0)),
        ));
    };
    if let Some(category) = &request.category {
        filter(dimension::CATEGORY, category);
    }
    if let Some(level) = request.level {
        filter(dimension::LEVEL, level.as_str());
    }
    if let Some(language) = &request.language {
        filter(dimension::LANGUAGE, language);
    }
    if let Some(is_free) = request.is_free {
        let price = if is_free {
            dimension::FREE
        } else {
            dimension::PAID
        };
        filter(dimension::PRICE, price);
    }
    BooleanQuery::new(clauses)
}

/// Matches a document where `word` occurs in any text field (see the module docs).
fn word_query(fields: &Fields, word: &QueryWord) -> Box<dyn Query> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut add = |query: Box<dyn Query>, boost: Score| {
        should.push((Occur::Should, Box::new(BoostQuery::new(query, boost))));
    };
    for field in TextField::ALL {
        let boost = field.boost();
        let raw = Term::from_field_text(fields.text(FieldSet::Raw, field), &word.raw);
        let term_query = |term: Term| -> Box<dyn Query> {
            Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
        };

        let mut exact: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Should, term_query(raw.clone()))];
        for (set, stem) in [(FieldSet::En, &word.en), (FieldSet::Ru, &word.ru)] {
            if let Some(stem) = stem {
                let term = Term::from_field_text(fields.text(set, field), stem);
                exact.push((Occur::Should, term_query(term)));
            }
        }
        add(
            Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(exact)),
                1.0,
            )),
            boost,
        );
        add(term_query(raw.clone()), boost * BM25_WEIGHT);
        if word.distance > 0 {
            add(
                Box::new(FuzzyTermQuery::new(raw.clone(), word.distance, true)),
                boost * APPROXIMATE_WEIGHT,
            );
        }
        if word.prefix {
            add(
                Box::new(FuzzyTermQuery::new_prefix(raw, 0, true)),
                boost * APPROXIMATE_WEIGHT,
            );
        }
    }
    Box::new(BooleanQuery::new(should))
}

fn read_hit(
    searcher: &Searcher,
    fields: &Fields,
    highlighter: &mut Highlighter<'_>,
    score: Score,
    address: DocAddress,
) -> Result<Hit, SearchError> {
    let doc: TantivyDocument = searcher.doc(address)?;
    let text = |field| -> Vec<&str> { doc.get_all(field).filter_map(|v| v.as_str()).collect() };
    let first = |field| text(field).first().copied().unwrap_or_default();

    let kind = DocKind::parse(first(fields.kind)).ok_or_else(|| SearchError::Corrupt {
        reason: format!("document {address:?} has kind {:?}", first(fields.kind)),
        source: None,
    })?;
    let text_language = |tag: &str| {
        primary_language(tag).map_or(TextLanguage::Other, |l| TextLanguage::from_primary(&l))
    };
    let language = text_language(first(fields.language));

    // A caption hit is titled by its lesson (stored, not indexed: see `crate::schema`), and its
    // text is in the caption's language.
    let (title, text_lang) = match kind {
        DocKind::Caption => (
            first(fields.lesson_title),
            text_language(first(fields.caption_language)),
        ),
        _ => (
            first(fields.text(FieldSet::Raw, TextField::Title)),
            language,
        ),
    };
    let title = highlighter.title(title, language);
    // The best-marked fragment; for lessons the lesson text comes before the module title.
    let candidates: &[TextField] = match kind {
        DocKind::Course => &[TextField::Summary, TextField::Body],
        DocKind::Lesson => &[TextField::Body, TextField::Summary],
        DocKind::Caption => &[TextField::Body],
    };
    let mut best: Option<(String, usize)> = None;
    for &field in candidates {
        let language = if field == TextField::Body {
            text_lang
        } else {
            language
        };
        let raw = fields.text(FieldSet::Raw, field);
        let joined = text(raw).join("\n");
        if let Some((html, marks)) = highlighter.fragment(raw, &joined, language) {
            if best
                .as_ref()
                .is_none_or(|(_, best_marks)| marks > *best_marks)
            {
                best = Some((html, marks));
            }
        }
    }

    Ok(Hit {
        kind,
        id: first(fields.id).to_owned(),
        course_id: first(fields.course_id).to_owned(),
        score,
        snippet: Snippet {
            title,
            text: best.map(|(html, _)| html),
        },
        caption: caption_moment(&doc, fields, kind)?,
    })
}

/// The time and language of a caption hit; `None` for other kinds.
fn caption_moment(
    doc: &TantivyDocument,
    fields: &Fields,
    kind: DocKind,
) -> Result<Option<CaptionMoment>, SearchError> {
    if kind != DocKind::Caption {
        return Ok(None);
    }
    let time = |field| doc.get_first(field).and_then(|v| v.as_u64());
    let language = doc
        .get_first(fields.caption_language)
        .and_then(|v| v.as_str());
    match (time(fields.start_ms), time(fields.end_ms), language) {
        (Some(start_ms), Some(end_ms), Some(language)) => Ok(Some(CaptionMoment {
            language: language.to_owned(),
            start_ms,
            end_ms,
        })),
        _ => Err(SearchError::Corrupt {
            reason: "a caption document lacks its times or language".into(),
            source: None,
        }),
    }
}
