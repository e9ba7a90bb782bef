//! Paid lessons: their bodies are never indexed, so they neither match nor appear in a snippet;
//! free courses and free previews are searchable; republishing moves a body in or out; an
//! index built under the previous rules is emptied when opened.

use coursegraph_events::contracts::course::v1::{CourseSnapshot, Lesson, Money};
use coursegraph_search::{
    CourseEvent, IndexStats, SearchIndex, SearchPage, SearchRequest, StreamIdentity, INDEX_FORMAT,
};

use crate::fixtures::{course, lesson, Fixture};

/// The words of the paid lesson's body (a rare noun, an inflected one) and of the preview's.
const SECRET: &str = "marmalade";
const SECRET_PLURAL: &str = "quokkas";
const PREVIEW_WORD: &str = "zanzibarite";

fn paid(amount_minor: i64) -> Option<Money> {
    Some(Money {
        amount_minor,
        currency: "EUR".into(),
    })
}

fn preview_lesson() -> Lesson {
    let mut lesson = lesson(
        "l-preview",
        "Welcome aboard",
        &format!("Meet the {PREVIEW_WORD} operator before you buy."),
    );
    lesson.module_title = "Getting started".into();
    lesson.free_preview = true;
    lesson
}

fn paid_lesson() -> Lesson {
    let mut lesson = lesson(
        "l-paid",
        "Scheduling internals",
        &format!("The {SECRET_PLURAL} of the scheduler and the {SECRET} trick, in depth."),
    );
    lesson.module_title = "Deep dive".into();
    lesson
}

/// Course `c1` at `version`, costing `price` minor units (0: free), with a preview lesson and
/// a lesson that is not one.
fn course_at(version: i32, price: i64) -> CourseSnapshot {
    let mut snapshot = course("c1", "Kubernetes in practice");
    snapshot.version = version;
    snapshot.price = paid(price);
    snapshot.lessons = vec![preview_lesson(), paid_lesson()];
    snapshot
}

/// Every query that could reach the paid body: the words as written, a stem's other form,
/// a prefix, a typo.
const SECRET_QUERIES: [&str; 5] = [SECRET, SECRET_PLURAL, "quokka", "marmal", "marmelade"];

/// Whether any hit of `page` quotes the paid lesson's body in a snippet.
fn quotes_the_paid_body(page: &SearchPage) -> bool {
    page.hits.iter().any(|hit| {
        let texts = [
            Some(hit.snippet.title.as_str()),
            hit.snippet.text.as_deref(),
        ];
        texts.into_iter().flatten().any(|text| {
            let text = text.to_lowercase();
            text.contains(SECRET) || text.contains("quokka")
        })
    })
}

#[test]
fn a_paid_lessons_body_neither_matches_nor_appears_in_a_snippet() {
    let fx = Fixture::with([course_at(1, 4_900)]);
    for query in SECRET_QUERIES {
        let page = fx.search(query);
        assert_eq!(page.total_count, 0, "{query:?} found {:?}", page.hits);
        assert!(page.hits.is_empty(), "{query:?}");
    }

    // The lesson itself is public by its title and module title, without its text.
    let by_title = fx.search("scheduling internals");
    assert_eq!(
        by_title.hits.first().map(|h| h.id.as_str()),
        Some("l-paid"),
        "{by_title:?}"
    );
    let by_module = fx.search("deep dive");
    assert_eq!(
        by_module.hits.first().map(|h| h.id.as_str()),
        Some("l-paid")
    );
    assert_eq!(
        by_module.hits[0].snippet.text.as_deref(),
        Some("<b>Deep</b> <b>dive</b>")
    );
    // Every word of a query must match: one of the body's words next to the title's finds
    // nothing; a word of both (the title's stem) finds the title and never quotes the body.
    assert!(fx.hits(&format!("scheduling {SECRET}")).is_empty());
    let shared = fx.search("scheduler");
    assert_eq!(keys_of(&shared), ["lesson:l-paid"]);
    for page in [&by_title, &by_module, &shared] {
        assert!(!quotes_the_paid_body(page), "{page:?}");
    }
}

#[test]
fn a_free_preview_of_a_paid_course_is_found_by_its_body_with_a_snippet() {
    let fx = Fixture::with([course_at(1, 4_900)]);
    let page = fx.search(PREVIEW_WORD);
    assert_eq!(keys_of(&page), ["lesson:l-preview"]);
    let text = page.hits[0].snippet.text.as_deref().unwrap_or_default();
    assert!(
        text.contains(&format!("<b>{PREVIEW_WORD}</b>")),
        "snippet {text:?}"
    );
    // A typo in the preview's word still finds it: the body is indexed like any other.
    assert_eq!(keys_of(&fx.search("zanzibarita")), ["lesson:l-preview"]);
}

#[test]
fn every_body_of_a_free_course_is_searchable() {
    let mut no_price = course_at(1, 0);
    no_price.course_id = "c-no-price".into();
    no_price.price = None;
    no_price.lessons = vec![paid_lesson()];
    no_price.lessons[0].lesson_id = "l-no-price".into();
    let fx = Fixture::with([course_at(1, 0), no_price]);

    let page = fx.search(SECRET);
    let mut found = keys_of(&page);
    found.sort();
    assert_eq!(found, ["lesson:l-no-price", "lesson:l-paid"]);
    assert!(page.hits.iter().all(|hit| hit
        .snippet
        .text
        .as_deref()
        .is_some_and(|t| t.contains(&format!("<b>{SECRET}</b>")))));
    // Through the stem, too (English course).
    assert!(keys_of(&fx.search("quokka")).contains(&"lesson:l-paid".to_owned()));
    assert_eq!(keys_of(&fx.search(PREVIEW_WORD)), ["lesson:l-preview"]);
}

#[test]
fn republishing_moves_a_body_in_and_out_of_the_index() {
    let mut fx = Fixture::with([course_at(1, 4_900)]);
    let secret_found = |fx: &Fixture| {
        let page = fx.search(SECRET);
        (keys_of(&page), quotes_the_paid_body(&page))
    };
    assert_eq!(secret_found(&fx), (vec![], false));

    // Paid → free: the body becomes searchable.
    fx.apply(CourseEvent::Updated(course_at(2, 0)));
    fx.commit();
    assert_eq!(secret_found(&fx), (vec!["lesson:l-paid".to_owned()], true));

    // Free → paid again: gone.
    fx.apply(CourseEvent::Updated(course_at(3, 1_900)));
    fx.commit();
    assert_eq!(secret_found(&fx), (vec![], false));

    // The lesson newly marked a free preview: searchable; the former preview, no longer one,
    // is not.
    let mut marked = course_at(4, 1_900);
    marked.lessons[1].free_preview = true;
    marked.lessons[0].free_preview = false;
    fx.apply(CourseEvent::Updated(marked));
    fx.commit();
    assert_eq!(secret_found(&fx), (vec!["lesson:l-paid".to_owned()], true));
    assert!(fx.hits(PREVIEW_WORD).is_empty());
    // Still found by its title, as every lesson of the outline.
    assert_eq!(fx.hits("welcome"), ["lesson:l-preview"]);

    // Unmarked again: gone.
    fx.apply(CourseEvent::Updated(course_at(5, 1_900)));
    fx.commit();
    assert_eq!(secret_found(&fx), (vec![], false));
    assert_eq!(fx.hits(PREVIEW_WORD), ["lesson:l-preview"]);

    // A late redelivery of the free version changes nothing: the index holds a newer one.
    fx.apply(CourseEvent::Updated(course_at(2, 0)));
    fx.commit();
    assert_eq!(secret_found(&fx), (vec![], false));
    assert_eq!(fx.index.stats().expect("stats").lessons, 2);
}

#[test]
fn an_index_built_under_the_previous_rules_is_emptied_when_opened_and_its_files_deleted() {
    let dir = tempfile::tempdir().expect("a folder");
    let stream = StreamIdentity {
        name: "COURSE".into(),
        created: time::OffsetDateTime::from_unix_timestamp(1_764_150_000).expect("a time"),
    };
    let old_segments: Vec<String> = {
        let index = SearchIndex::open_or_create(dir.path()).expect("an index");
        // What the previous build left on disk: a paid lesson's body in the index (written
        // here as a free course's, which this build indexes the same way)...
        let mut indexer = index
            .indexer_with_budget(15_000_000)
            .expect("the only writer");
        indexer.set_stream(stream.clone());
        indexer
            .apply(7, &CourseEvent::Published(course_at(1, 0)))
            .expect("indexed");
        indexer.commit().expect("committed");
        drop(indexer);
        // ...and its commit payload, which records no format.
        let mut writer: tantivy::IndexWriter = index
            .index()
            .writer_with_num_threads(1, 15_000_000)
            .expect("the writer");
        let payload = serde_json::json!({ "last_sequence": 7, "stream": stream }).to_string();
        let mut prepared = writer.prepare_commit().expect("prepared");
        prepared.set_payload(&payload);
        prepared.commit().expect("committed");
        drop(writer);
        assert_eq!(index.format().expect("readable"), 1);
        assert_eq!(index.stats().expect("stats").lessons, 2);
        index
            .index()
            .searchable_segment_ids()
            .expect("segments")
            .iter()
            .map(|id| id.uuid_string())
            .collect()
    };
    assert!(!old_segments.is_empty());

    let index = SearchIndex::open_or_create(dir.path()).expect("the index again");
    assert_eq!(index.format().expect("readable"), INDEX_FORMAT);
    assert_eq!(
        index.stats().expect("stats"),
        IndexStats {
            courses: 0,
            lessons: 0,
            known_courses: 0,
            caption_segments: 0,
            caption_records: 0,
        }
    );
    assert_eq!(total(&index, SECRET), 0);
    // At sequence 0 of the same stream: the consumer applies the stream again from its start.
    assert_eq!(index.last_sequence().expect("readable"), 0);
    assert_eq!(index.stream_identity().expect("readable"), Some(stream));
    // The old segments' files are deleted, not just unreferenced.
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for segment in &old_segments {
        assert!(
            files.iter().all(|file| !file.starts_with(segment.as_str())),
            "segment {segment} still has files: {files:?}"
        );
    }

    // Applied again under this build's rules, and kept as it is by the next open.
    let mut indexer = index
        .indexer_with_budget(15_000_000)
        .expect("the only writer");
    indexer
        .apply(7, &CourseEvent::Published(course_at(1, 4_900)))
        .expect("indexed");
    indexer.commit().expect("committed");
    drop(indexer);
    drop(index);
    let index = SearchIndex::open_or_create(dir.path()).expect("the index again");
    assert_eq!(index.last_sequence().expect("readable"), 7);
    assert_eq!(index.stats().expect("stats").lessons, 2);
    assert_eq!(total(&index, SECRET), 0);
    assert_eq!(total(&index, PREVIEW_WORD), 1);
}

fn total(index: &SearchIndex, query: &str) -> u64 {
    index
        .search(&SearchRequest {
            query: query.into(),
            first: 10,
            ..Default::default()
        })
        .expect("a page")
        .total_count
}

fn keys_of(page: &SearchPage) -> Vec<String> {
    crate::fixtures::keys(page)
}
