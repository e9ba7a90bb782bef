//! Matching and ranking: typos, prefixes, stems, boosts, facets, pages, snippets.

use coursegraph_events::contracts::course::v1::{CourseLevel, Money};
use coursegraph_search::{FacetCount, Filter, Level, SearchRequest};

use crate::fixtures::{course, keys, lesson, Fixture};

fn counts(values: &[(&str, u64)]) -> Vec<FacetCount> {
    values
        .iter()
        .map(|(value, count)| FacetCount {
            value: (*value).into(),
            count: *count,
        })
        .collect()
}

#[test]
fn one_typo_is_forgiven_in_words_of_5_to_8_letters() {
    let fx = Fixture::with([
        course("py", "Python for data analysis"),
        course("sw", "Swift apps"),
        course("typo", "Pyton for kids"),
    ]);
    assert_eq!(
        fx.hits("python"),
        ["course:py", "course:typo"],
        "exact first"
    );
    assert_eq!(fx.hits("pyhton analysis"), ["course:py"], "transposition");
    assert_eq!(fx.hits("pythn data"), ["course:py"], "deletion");
    assert_eq!(fx.hits("swifr"), ["course:sw"], "5 letters, substitution");
    assert_eq!(fx.hits("anelysis"), ["course:py"], "8 letters");
    assert!(fx.hits("pyhtan").is_empty(), "two typos in 6 letters");
}

#[test]
fn two_typos_are_forgiven_from_9_letters() {
    let fx = Fixture::with([course("k8s", "Kubernetes operators")]);
    assert_eq!(fx.hits("kubrenetis"), ["course:k8s"]);
    assert_eq!(fx.hits("kubernetis operatros"), ["course:k8s"]);
    assert!(fx.hits("kbrenetis").is_empty(), "three typos");
}

#[test]
fn words_under_5_letters_must_be_exact() {
    let fx = Fixture::with([course("rs", "Rust from scratch")]);
    assert_eq!(fx.hits("rust"), ["course:rs"]);
    assert!(fx.hits("rusk").is_empty());
    assert!(fx.hits("rost").is_empty());
}

#[test]
fn the_last_word_matches_as_a_prefix() {
    let fx = Fixture::with([
        course("k8s", "Kubernetes in practice"),
        course("kt", "Kotlin coroutines"),
    ]);
    assert_eq!(fx.hits("kuber"), ["course:k8s"]);
    assert_eq!(fx.hits("practice kub"), ["course:k8s"]);
    assert!(
        fx.hits("k").is_empty(),
        "one letter is too short for a prefix"
    );
    assert_eq!(fx.hits("ko").len(), 1);
    // Only the last word: an earlier word must be complete.
    assert!(fx.hits("kuber practice").is_empty());
}

#[test]
fn title_beats_tags_beats_summary_beats_lesson_text() {
    let mut title = course("title", "Zephyr RTOS essentials");
    title.summary = "Real-time operating systems for small boards.".into();
    let mut tags = course("tags", "Embedded systems from scratch");
    tags.tags = vec!["zephyr".into(), "embedded".into()];
    let mut summary = course("summary", "Microcontroller programming");
    summary.summary = "Bare metal first, then Zephyr and FreeRTOS.".into();
    let mut body = course("body", "IoT devices");
    body.lessons = vec![lesson(
        "body-lesson",
        "Choosing an operating system",
        "We compare FreeRTOS, Zephyr and bare metal loops.",
    )];
    let fx = Fixture::with([body, summary, tags, title]);
    let page = fx.search("zephyr");
    assert_eq!(
        keys(&page),
        [
            "course:title",
            "course:tags",
            "course:summary",
            "lesson:body-lesson"
        ]
    );
}

#[test]
fn english_words_match_other_forms_of_the_same_stem() {
    let mut c = course("docker", "Run your first container");
    c.lessons = vec![lesson("l1", "Images", "Building images from Dockerfiles.")];
    let fx = Fixture::with([c]);
    assert_eq!(fx.hits("running"), ["course:docker"]);
    assert_eq!(fx.hits("containers"), ["course:docker"]);
    assert_eq!(fx.hits("build image"), ["lesson:l1"]);
}

#[test]
fn russian_words_match_other_forms_of_the_same_stem() {
    let mut c = course("ru", "Основы программирования");
    c.language = "ru".into();
    c.summary = "Учимся с книгами и задачами.".into();
    let fx = Fixture::with([c]);
    assert_eq!(fx.hits("программирование"), ["course:ru"]);
    // Stems only: two letters apart (beyond a 5 or 6 letter word's one typo), and not the last
    // word (no prefix match).
    assert_eq!(fx.hits("книга основы"), ["course:ru"]);
    assert_eq!(fx.hits("задача основы"), ["course:ru"]);
    // The English stemmer is not applied to Russian text, nor the Russian one to English.
    let mut en = course("en", "Programming basics");
    en.language = "en-US".into();
    let fx = Fixture::with([en]);
    assert_eq!(fx.hits("programs"), ["course:en"]);
}

#[test]
fn other_languages_match_their_words_as_written() {
    let mut de = course("de", "Datenbanken verstehen");
    de.language = "de".into();
    let fx = Fixture::with([de]);
    assert_eq!(fx.hits("datenbanken"), ["course:de"]);
    assert_eq!(fx.hits("datenbank"), ["course:de"], "as a prefix");
    assert!(
        fx.hits("versteht").is_empty(),
        "not stemmed (nor one typo away)"
    );
}

#[test]
fn every_word_of_the_query_must_match() {
    let fx = Fixture::with([
        course("a", "Rust for web services"),
        course("b", "Go for web services"),
    ]);
    assert_eq!(fx.hits("web services").len(), 2);
    assert_eq!(fx.hits("rust web"), ["course:a"]);
    assert!(fx.hits("rust haskell").is_empty());
}

fn catalog() -> Fixture {
    let mut a = course("a", "Python basics");
    a.lessons = vec![lesson("a1", "Python setup", "Install it.")];
    let mut b = course("b", "Python for data science");
    b.category = "Data".into();
    b.level = CourseLevel::Advanced.into();
    b.price = Some(Money {
        amount_minor: 4_999,
        currency: "EUR".into(),
    });
    let mut c = course("c", "Python на практике");
    c.language = "ru".into();
    c.level = CourseLevel::Intermediate.into();
    c.price = None;
    Fixture::with([a, b, c, course("d", "Haskell basics")])
}

#[test]
fn facets_count_the_documents_that_match() {
    let fx = catalog();
    let page = fx.search("python");
    assert_eq!(page.total_count, 4);
    assert_eq!(
        page.facets.category,
        counts(&[("programming", 3), ("data", 1)])
    );
    assert_eq!(
        page.facets.level,
        counts(&[("beginner", 2), ("advanced", 1), ("intermediate", 1)])
    );
    assert_eq!(page.facets.language, counts(&[("en", 3), ("ru", 1)]));
    assert_eq!(page.facets.price, counts(&[("free", 3), ("paid", 1)]));

    let page = fx.search("basics");
    assert_eq!(page.facets.category, counts(&[("programming", 2)]));
}

#[test]
fn filters_narrow_hits_and_facets() {
    let fx = catalog();
    let filtered = |filter: Filter| {
        let page = fx.search_with("python", filter);
        let mut ids = keys(&page);
        ids.sort();
        (ids, page)
    };
    let (ids, page) = filtered(Filter {
        category: Some("DATA".into()),
        ..Default::default()
    });
    assert_eq!(ids, ["course:b"]);
    assert_eq!(page.facets.category, counts(&[("data", 1)]));
    assert_eq!(page.total_count, 1);

    let (ids, _) = filtered(Filter {
        level: Some(Level::Beginner),
        ..Default::default()
    });
    assert_eq!(
        ids,
        ["course:a", "lesson:a1"],
        "lessons carry their course's facets"
    );
    let (ids, _) = filtered(Filter {
        language: Some("ru".into()),
        ..Default::default()
    });
    assert_eq!(ids, ["course:c"]);
    let (ids, _) = filtered(Filter {
        is_free: Some(false),
        ..Default::default()
    });
    assert_eq!(ids, ["course:b"]);
    let (ids, page) = filtered(Filter {
        category: Some("programming".into()),
        is_free: Some(true),
        level: Some(Level::Advanced),
        language: None,
    });
    assert!(ids.is_empty());
    assert_eq!(page.total_count, 0);
    assert_eq!(page.end_cursor, None);
    assert!(!page.has_next_page);
}

#[test]
fn pages_follow_each_other_without_overlap_or_gap() {
    let courses = (0..25).map(|i| {
        let mut c = course(&format!("c{i:02}"), &format!("Algorithms part {i}"));
        // Different lengths, different scores.
        c.summary = "algorithms ".repeat(i % 4);
        c
    });
    let fx = Fixture::with(courses);
    let all = fx.search("algorithms");
    assert_eq!(all.total_count, 25);

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = fx
            .index
            .search(&SearchRequest {
                query: "algorithms".into(),
                first: 10,
                after: after.clone(),
                ..Default::default()
            })
            .unwrap();
        pages += 1;
        assert_eq!(page.total_count, 25);
        seen.extend(keys(&page));
        if !page.has_next_page {
            assert_eq!(page.hits.len(), 5);
            break;
        }
        assert_eq!(page.hits.len(), 10);
        after = page.end_cursor;
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        keys(&all),
        "same order as one big page, nothing twice or missing"
    );

    // After the last hit: an empty page.
    let last = fx
        .index
        .search(&SearchRequest {
            query: "algorithms".into(),
            first: 10,
            after: all.end_cursor.clone(),
            ..Default::default()
        })
        .unwrap();
    assert!(last.hits.is_empty());
    assert!(!last.has_next_page);
}

#[test]
fn snippets_mark_matches_in_escaped_text() {
    let mut c = course("cpp", "C++ <templates> & generics");
    c.description = format!(
        "{} Template metaprogramming <script>alert(1)</script> explained. {}",
        "Filler text. ".repeat(30),
        "More filler. ".repeat(30)
    );
    c.lessons = vec![lesson(
        "l1",
        "Variadics",
        "Variadic templates & parameter packs.",
    )];
    let fx = Fixture::with([c]);
    let page = fx.search("template");
    let course_hit = page.hits.iter().find(|h| h.id == "cpp").unwrap();
    assert_eq!(
        course_hit.snippet.title,
        "C++ &lt;<b>templates</b>&gt; &amp; generics"
    );
    let text = course_hit.snippet.text.as_deref().unwrap();
    assert!(
        text.contains("<b>Template</b> metaprogramming &lt;script&gt;"),
        "{text}"
    );
    assert!(
        text.len() < 300,
        "a fragment, not the whole description: {text}"
    );

    let lesson_hit = page.hits.iter().find(|h| h.id == "l1").unwrap();
    assert_eq!(lesson_hit.snippet.title, "Variadics");
    assert_eq!(
        lesson_hit.snippet.text.as_deref(),
        Some("Variadic <b>templates</b> &amp; parameter packs")
    );

    // Typos and prefixes are marked too.
    let page = fx.search("variadcs");
    assert_eq!(page.hits[0].snippet.title, "<b>Variadics</b>");
    let page = fx.search("metaprog");
    assert!(page.hits[0]
        .snippet
        .text
        .as_deref()
        .unwrap()
        .contains("<b>metaprogramming</b>"));
}
