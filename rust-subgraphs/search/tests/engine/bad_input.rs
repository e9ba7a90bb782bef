//! What a client can get wrong: each a specific error or literal handling, never a panic.

use coursegraph_search::{SearchError, SearchRequest, MAX_QUERY_CHARS};

use crate::fixtures::{course, Fixture};

fn request(query: &str) -> SearchRequest {
    SearchRequest {
        query: query.into(),
        first: 10,
        ..Default::default()
    }
}

fn fixture() -> Fixture {
    Fixture::with([
        course("k8s", "Kubernetes: the \"hard\" way (AND more)"),
        course("cpp", "C++ templates"),
    ])
}

#[test]
fn empty_whitespace_and_wordless_queries_are_errors() {
    let fx = fixture();
    for query in ["", "   ", "\t\n", "?!", "\"\"", "((:))", "\u{0}"] {
        let err = fx.index.search(&request(query)).unwrap_err();
        assert!(matches!(err, SearchError::EmptyQuery), "{query:?}: {err:?}");
        assert!(err.is_bad_input());
    }
    // A word too long to be indexed (past 100 bytes) is no word either.
    let err = fx.index.search(&request(&"a".repeat(150))).unwrap_err();
    assert!(matches!(err, SearchError::EmptyQuery), "{err:?}");
}

#[test]
fn a_ten_thousand_character_query_is_rejected() {
    let fx = fixture();
    let query = "kubernetes".repeat(1_000);
    let err = fx.index.search(&request(&query)).unwrap_err();
    assert!(
        matches!(
            err,
            SearchError::QueryTooLong {
                len: 10_000,
                max: MAX_QUERY_CHARS
            }
        ),
        "{err:?}"
    );
    assert!(err.is_bad_input());
    assert_eq!(
        err.to_string(),
        "query is 10000 characters long; at most 200 are allowed"
    );
    let err = fx.index.search(&request(&"я ".repeat(5_000))).unwrap_err();
    assert!(
        matches!(err, SearchError::QueryTooLong { len: 9_999, .. }),
        "{err:?}"
    );
    // Within the length, but too many distinct words.
    let words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    let err = fx.index.search(&request(&words.join(" "))).unwrap_err();
    assert!(
        matches!(err, SearchError::TooManyWords { count: 40, max: 32 }),
        "{err:?}"
    );
}

#[test]
fn query_syntax_is_taken_literally() {
    let fx = fixture();
    for query in [
        "title:foo AND (bar OR \"",
        "kubernetes AND",
        "*",
        "kuber*",
        "kubernetes~2",
        "+hard -way",
        "title:kubernetes",
        "\\",
        "[0 TO 9]",
        "/regex.*/",
        "kubernetes^100",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
    ] {
        let result = fx.index.search(&request(query));
        assert!(
            result.is_ok() || matches!(result, Err(SearchError::EmptyQuery)),
            "{query:?}: {result:?}"
        );
    }
    let ids = |q: &str| -> Vec<String> {
        fx.index
            .search(&request(q))
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    // Operators are words: "and" and "more" are in the title, so this matches.
    assert_eq!(ids("\"hard\" AND (more"), ["k8s"]);
    assert_eq!(
        ids("title:kubernetes"),
        Vec::<String>::new(),
        "`title` is a word, not a field"
    );
    assert_eq!(ids("kuber*"), ["k8s"]);
    assert_eq!(ids("C++"), ["cpp"]);
}

#[test]
fn an_invalid_cursor_is_an_error() {
    let fx = fixture();
    let valid = fx
        .index
        .search(&request("kubernetes"))
        .unwrap()
        .end_cursor
        .unwrap();
    let mut tampered = valid.clone();
    tampered.push('A');
    for cursor in [
        String::new(),
        "garbage!".into(),
        "MTA".into(), // base64 of "10": not ours
        tampered,
        "x".repeat(10_000),
        // Ours, but far beyond the pages served.
        "Y2ctc2VhcmNoOnYxOjk5OTk5".into(),
    ] {
        let err = fx
            .index
            .search(&SearchRequest {
                after: Some(cursor.clone()),
                ..request("kubernetes")
            })
            .unwrap_err();
        assert!(
            matches!(err, SearchError::InvalidCursor { .. }),
            "{cursor:?}: {err:?}"
        );
        assert!(err.is_bad_input());
    }
}

#[test]
fn first_out_of_range_is_an_error() {
    let fx = fixture();
    for first in [-1, 0, 101, 1_000, i64::MAX] {
        let err = fx
            .index
            .search(&SearchRequest {
                first,
                ..request("kubernetes")
            })
            .unwrap_err();
        assert!(
            matches!(err, SearchError::InvalidFirst { first: f, .. } if f == first),
            "{first}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("first must be between 1 and 100, got {first}")
        );
    }
}
