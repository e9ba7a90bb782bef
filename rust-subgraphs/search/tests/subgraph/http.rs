//! Over HTTP, in-process: `app(state).oneshot(request)` on an in-memory index fed
//! through the Indexer with course snapshots.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use coursegraph_events::contracts::course::v1::{CourseLevel, CourseSnapshot, Lesson, Money};
use coursegraph_events::contracts::video::v1::{CaptionSegment, CaptionsChanged};
use coursegraph_events::prost::Message as _;
use coursegraph_events::Subject;
use coursegraph_search::{app, sdl, AppState, CaptionsEvent, CourseEvent, SearchIndex};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn course(id: &str, title: &str, summary: &str, level: CourseLevel, price: i64) -> CourseSnapshot {
    CourseSnapshot {
        course_id: id.into(),
        version: 1,
        instructor_id: "i1".into(),
        title: title.into(),
        summary: summary.into(),
        slug: id.into(),
        category: "programming".into(),
        level: level.into(),
        language: "en".into(),
        price: Some(Money {
            amount_minor: price,
            currency: "EUR".into(),
        }),
        published_at: "2025-01-31T12:34:56.789Z".into(),
        instructor_name: "Ferris".into(),
        ..Default::default()
    }
}

/// An index holding two courses, committed: a paid one with a free preview lesson and a
/// lesson that is not one, and a free one.
fn state() -> AppState {
    let index = SearchIndex::in_ram().expect("an index in memory");
    let mut indexer = index
        .indexer_with_budget(15_000_000)
        .expect("the only writer");
    let mut kubernetes = course(
        "c-kube",
        "Kubernetes in practice",
        "Deploy and operate containers on a cluster.",
        CourseLevel::Intermediate,
        4_900,
    );
    kubernetes.lessons = vec![
        Lesson {
            lesson_id: "l-pods".into(),
            module_id: "m1".into(),
            module_title: "Workloads".into(),
            title: "Running pods".into(),
            body_text: "A pod groups containers that share a network namespace.".into(),
            free_preview: true,
            ..Default::default()
        },
        Lesson {
            lesson_id: "l-etcd".into(),
            module_id: "m2".into(),
            module_title: "Control plane".into(),
            title: "Backing up etcd".into(),
            body_text: "Snapshot the keyspace with the marmalade procedure.".into(),
            ..Default::default()
        },
    ];
    let rust = course(
        "c-rust",
        "Rust for beginners",
        "Ownership, borrowing and lifetimes explained.",
        CourseLevel::Beginner,
        0,
    );
    indexer
        .apply(1, &CourseEvent::Published(kubernetes))
        .expect("indexed");
    indexer
        .apply(2, &CourseEvent::Published(rust))
        .expect("indexed");
    // Both lessons of the paid course say "kubelet"; only the free preview may be found by it.
    for (sequence, lesson, text) in [
        (1, "l-pods", "The kubelet restarts a failed container"),
        (2, "l-etcd", "The kubelet reads the vault passphrase"),
    ] {
        let payload = CaptionsChanged {
            lesson_id: lesson.into(),
            language: "en".into(),
            segments: vec![CaptionSegment {
                start_ms: 83_250,
                end_ms: 86_000,
                text: text.into(),
            }],
            changed_at: "2026-12-07T10:00:00Z".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let subject = Subject::parse("video.captions.changed").expect("a subject");
        let event = CaptionsEvent::decode(&subject, &payload)
            .expect("valid")
            .expect("a captions event");
        indexer.apply_captions(sequence, &event).expect("indexed");
    }
    indexer.commit().expect("commit");
    AppState::new(index)
}

async fn send(request: Request<Body>) -> (StatusCode, Value) {
    let response = app(state()).oneshot(request).await.expect("a response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

async fn graphql(query: &str, variables: Value) -> (StatusCode, Value) {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({ "query": query, "variables": variables }).to_string(),
        ))
        .expect("a request");
    send(request).await
}

const SEARCH: &str = r#"
query Search($query: String!, $filter: SearchFilter, $first: Int, $after: String) {
  search(query: $query, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node { score titleSnippet textSnippet kind course { id } lesson { id } }
    }
    facets {
      category { value count }
      level { value count }
      language { value count }
      price { value count }
    }
  }
}"#;

#[tokio::test]
async fn search_returns_course_references_with_snippets_and_facets() {
    let (status, body) = graphql(SEARCH, json!({ "query": "kubernetes" })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("errors").is_none(), "{body}");
    let search = &body["data"]["search"];
    let first = &search["edges"][0]["node"];
    assert_eq!(first["kind"], "COURSE");
    assert_eq!(first["course"]["id"], "c-kube");
    assert_eq!(first["lesson"], Value::Null);
    assert_eq!(first["titleSnippet"], "<b>Kubernetes</b> in practice");
    assert!(first["score"].as_f64().expect("a score") > 0.0);
    assert_eq!(
        search["totalCount"],
        search["edges"].as_array().map(Vec::len).unwrap_or(0)
    );
    assert_eq!(search["facets"]["category"][0]["value"], "programming");
    assert_eq!(search["facets"]["level"][0]["value"], "intermediate");
    assert_eq!(search["facets"]["price"][0]["value"], "paid");
    assert!(search["edges"][0]["cursor"].is_string());
    assert_eq!(
        search["pageInfo"]["endCursor"],
        search["edges"][search["edges"].as_array().map_or(0, Vec::len) - 1]["cursor"]
    );
}

#[tokio::test]
async fn a_lesson_hit_references_its_lesson_and_course() {
    let (_, body) = graphql(SEARCH, json!({ "query": "namespace" })).await;
    let node = &body["data"]["search"]["edges"][0]["node"];
    assert_eq!(node["kind"], "LESSON", "{body}");
    assert_eq!(node["lesson"]["id"], "l-pods");
    assert_eq!(node["course"]["id"], "c-kube");
    assert!(node["textSnippet"]
        .as_str()
        .is_some_and(|s| s.contains("<b>namespace</b>")));
}

#[tokio::test]
async fn a_paid_lessons_body_is_neither_found_nor_quoted() {
    for query in ["marmalade", "keyspace", "marmelade"] {
        let (_, body) = graphql(SEARCH, json!({ "query": query })).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["search"]["totalCount"], 0, "{query}: {body}");
        assert_eq!(
            body["data"]["search"]["edges"],
            json!([]),
            "{query}: {body}"
        );
    }
    // Found by its title (the outline is public), with no text from its body.
    let (_, body) = graphql(SEARCH, json!({ "query": "etcd" })).await;
    let edges = body["data"]["search"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 1, "{body}");
    assert_eq!(edges[0]["node"]["lesson"]["id"], "l-etcd", "{body}");
    assert_eq!(edges[0]["node"]["textSnippet"], Value::Null, "{body}");
    assert!(!body.to_string().contains("marmalade"), "{body}");
}

#[tokio::test]
async fn a_misspelled_query_finds_the_course() {
    let (_, body) = graphql(SEARCH, json!({ "query": "kubernetis" })).await;
    assert_eq!(
        body["data"]["search"]["edges"][0]["node"]["course"]["id"], "c-kube",
        "{body}"
    );
}

#[tokio::test]
async fn filters_and_pages() {
    let (_, body) = graphql(
        SEARCH,
        json!({ "query": "rust", "filter": { "isFree": true, "level": "Beginner", "language": "EN" } }),
    )
    .await;
    assert_eq!(
        body["data"]["search"]["edges"][0]["node"]["course"]["id"], "c-rust",
        "{body}"
    );

    let (_, body) = graphql(
        SEARCH,
        json!({ "query": "rust", "filter": { "isFree": false } }),
    )
    .await;
    assert_eq!(body["data"]["search"]["totalCount"], 0, "{body}");

    let (_, page1) = graphql(SEARCH, json!({ "query": "containers", "first": 1 })).await;
    let info = &page1["data"]["search"]["pageInfo"];
    assert_eq!(info["hasNextPage"], true, "{page1}");
    let (_, page2) = graphql(
        SEARCH,
        json!({ "query": "containers", "first": 1, "after": info["endCursor"] }),
    )
    .await;
    let edges = page2["data"]["search"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{page2}");
    assert_ne!(edges[0]["cursor"], info["endCursor"]);
}

#[tokio::test]
async fn bad_input_is_bad_user_input_never_a_500() {
    let long = "a".repeat(10_000);
    let cases = [
        json!({ "query": "" }),
        json!({ "query": "   " }),
        json!({ "query": long }),
        json!({ "query": "rust", "after": "not-a-cursor" }),
        json!({ "query": "rust", "first": -1 }),
        json!({ "query": "rust", "first": 0 }),
        // Just over the resolver's maximum (100); far larger pages are refused by the cost
        // limit before any resolver runs (tests/limits.rs).
        json!({ "query": "rust", "first": 101 }),
        json!({ "query": "rust", "filter": { "level": "expert" } }),
        json!({ "query": "rust", "filter": { "category": "" } }),
        json!({ "query": "?!*" }),
    ];
    for variables in cases {
        let (status, body) = graphql(SEARCH, variables.clone()).await;
        assert_eq!(status, StatusCode::OK, "{variables}: {body}");
        assert_eq!(body["data"], Value::Null, "{variables}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty() && message != "Unexpected error.",
            "{message}"
        );
    }
}

#[tokio::test]
async fn query_syntax_is_just_words() {
    for query in [
        "title:kubernetes AND (",
        "kubernetes\" OR *",
        "+kubernetes -rust ~2 ^3",
        "c-kube[0]{}",
    ] {
        let (status, body) = graphql(SEARCH, json!({ "query": query })).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let ok = body["data"]["search"].is_object();
        let bad_input = body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT";
        assert!(ok || bad_input, "{query}: {body}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_a_graphql_error() {
    // A valid request whose padding (in a variable) makes it too large.
    let padding = "x".repeat(coursegraph_search::MAX_BODY_BYTES);
    let body =
        json!({ "query": SEARCH, "variables": { "query": "rust", "pad": padding } }).to_string();
    let declared = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body.clone()))
        .expect("a request");
    // Without content-length (a chunked upload): refused once the limit is passed.
    let chunks = body
        .into_bytes()
        .chunks(8 * 1024)
        .map(|chunk| Ok::<_, std::io::Error>(chunk.to_vec()))
        .collect::<Vec<_>>();
    let streamed = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("a request");
    for request in [declared, streamed] {
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["reason"], "PAYLOAD_TOO_LARGE",
            "{body}"
        );
        assert!(body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&coursegraph_search::MAX_BODY_BYTES.to_string())));
    }

    // Just under the limit is served.
    let query = r#"query($q: String!) { search(query: $q) { totalCount } }"#;
    let envelope = json!({ "query": query, "variables": { "q": "rust", "pad": "" } }).to_string();
    let pad = coursegraph_search::MAX_BODY_BYTES - envelope.len();
    let body =
        json!({ "query": query, "variables": { "q": "rust", "pad": "y".repeat(pad) } }).to_string();
    assert_eq!(body.len(), coursegraph_search::MAX_BODY_BYTES);
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("a request");
    let (status, body) = send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["search"]["totalCount"], 1, "{body}");
}

#[tokio::test]
async fn graphql_over_get() {
    let request = Request::get("/graphql?query=%7Bsearch(query%3A%22rust%22)%7BtotalCount%7D%7D")
        .body(Body::empty())
        .expect("a request");
    let (status, body) = send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["search"]["totalCount"], 1, "{body}");
}

#[tokio::test]
async fn probes() {
    let (status, _) = send(
        Request::get("/healthz")
            .body(Body::empty())
            .expect("a request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        Request::get("/readyz")
            .body(Body::empty())
            .expect("a request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["lastSequence"], 2);
}

#[tokio::test]
async fn federation_service_sdl() {
    let (status, body) = graphql("{ _service { sdl } }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let served = body["data"]["_service"]["sdl"].as_str().expect("an sdl");
    assert!(served.contains("search("), "{served}");
    assert!(served.contains("@link"), "{served}");
}

#[test]
fn sdl_is_a_federation_2_subgraph() {
    let sdl = sdl();
    assert!(sdl.contains("extend schema @link("), "{sdl}");
    assert!(sdl.contains("federation/v2"), "{sdl}");
    for entity in ["Course", "Lesson"] {
        let line = sdl
            .lines()
            .find(|line| line.starts_with(&format!("type {entity} ")))
            .unwrap_or_else(|| panic!("no type {entity} in {sdl}"));
        assert!(line.contains(r#"@key(fields: "id""#), "{line}");
        assert!(line.contains("resolvable: false"), "{line}");
    }
    assert!(sdl.contains("type PageInfo @shareable"), "{sdl}");
    assert!(sdl.contains("first: Int = 20"), "{sdl}");
}

/// `src/search.graphql` (what composition reads, without building Rust) is the SDL the binary
/// prints. To refresh it: `cargo run -p coursegraph-search -- --print-sdl > search/src/search.graphql`
/// (or run this test with `UPDATE_SDL=1`).
#[test]
fn committed_sdl_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/search.graphql");
    if std::env::var_os("UPDATE_SDL").is_some() {
        std::fs::write(path, sdl()).expect("write the SDL");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sdl(),
        "search/src/search.graphql is stale: run `cargo run -p coursegraph-search -- --print-sdl > search/src/search.graphql`"
    );
}

#[tokio::test]
async fn a_caption_hit_gives_the_lesson_and_the_time_and_never_paid_words() {
    let query = r#"query($q: String!) { search(query: $q) { totalCount edges { node {
        kind titleSnippet textSnippet startsAtSeconds endsAtSeconds captionLanguage
        lesson { id } course { id } } } } }"#;
    let (status, body) = graphql(query, json!({ "q": "kubelet" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["search"],
        json!({ "totalCount": 1, "edges": [{ "node": {
            "kind": "CAPTION",
            "titleSnippet": "Running pods",
            "textSnippet": "The <b>kubelet</b> restarts a failed container",
            "startsAtSeconds": 83.25,
            "endsAtSeconds": 86.0,
            "captionLanguage": "en",
            "lesson": { "id": "l-pods" },
            "course": { "id": "c-kube" },
        } }] })
    );
    // The paid lesson's words match nothing.
    let (_, body) = graphql(query, json!({ "q": "passphrase" })).await;
    assert_eq!(body["data"]["search"]["totalCount"], 0);
    // Other hits have no time.
    let (_, body) = graphql(query, json!({ "q": "pods" })).await;
    let node = &body["data"]["search"]["edges"][0]["node"];
    assert_eq!(
        (node["kind"].as_str(), &node["startsAtSeconds"]),
        (Some("LESSON"), &Value::Null)
    );
}
