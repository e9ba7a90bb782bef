//! Operation limits on `/graphql`, over HTTP in-process: every hostile shape is refused with
//! 400, `BAD_USER_INPUT`, its reason and figures, before anything executes (the app's count of
//! executed operations stays 0); the operations the gateway sends are served.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use coursegraph_events::contracts::course::v1::{CourseSnapshot, Lesson};
use coursegraph_search::limits::{OperationLimits, DEFAULT_PAGE_SIZE};
use coursegraph_search::{app, AppState, CourseEvent, SearchIndex};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// An index holding two Python courses (one with a lesson), committed.
fn state() -> AppState {
    let index = SearchIndex::in_ram().expect("an index in memory");
    let mut indexer = index
        .indexer_with_budget(15_000_000)
        .expect("the only writer");
    for (sequence, id, title) in [
        (1, "c-py", "Python from scratch"),
        (2, "c-data", "Data analysis with Python"),
    ] {
        let course = CourseSnapshot {
            course_id: id.into(),
            version: 1,
            instructor_id: "i1".into(),
            title: title.into(),
            summary: "Learn python step by step.".into(),
            slug: id.into(),
            category: "programming".into(),
            language: "en".into(),
            published_at: "2025-01-31T12:34:56.789Z".into(),
            lessons: vec![Lesson {
                lesson_id: format!("{id}-l1"),
                module_id: "m1".into(),
                title: "Python lists".into(),
                body_text: "Lists hold python values in order.".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        indexer
            .apply(sequence, &CourseEvent::Published(course))
            .expect("indexed");
    }
    indexer.commit().expect("commit");
    AppState::new(index)
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

async fn send(state: &AppState, request: Request<Body>) -> Answer {
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("a response");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        content_type,
        body,
    }
}

fn post(body: &Value) -> Request<Body> {
    Request::post("/graphql")
        .header("content-type", "application/json")
        .header(
            "accept",
            "application/graphql-response+json, application/json",
        )
        .body(Body::from(body.to_string()))
        .expect("a request")
}

async fn graphql(state: &AppState, query: &str, variables: Value) -> Answer {
    send(
        state,
        post(&json!({ "query": query, "variables": variables })),
    )
    .await
}

/// Asserts a refusal: 400, `BAD_USER_INPUT`, `reason`, `figure` = `value`, `limit`, and that
/// nothing was executed.
fn assert_refused(
    state: &AppState,
    answer: &Answer,
    reason: &str,
    figure: &str,
    value: u64,
    limit: u64,
) {
    let body = &answer.body;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        answer.content_type, "application/graphql-response+json",
        "{body}"
    );
    assert!(body.get("data").is_none(), "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    let extensions = &errors[0]["extensions"];
    assert_eq!(extensions["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(extensions["reason"], reason, "{body}");
    assert_eq!(extensions[figure], value, "{body}");
    assert_eq!(extensions["limit"], limit, "{body}");
    let message = errors[0]["message"].as_str().expect("a message");
    assert!(
        message.contains(&value.to_string()) && message.contains(&limit.to_string()),
        "{message}"
    );
    assert_eq!(
        state.operations.executed(),
        0,
        "a refused operation was executed"
    );
    assert_eq!(state.operations.refused(), 1);
}

/// What the gateway sends for the search page (with the `__typename`s its planner adds).
const GATEWAY_SEARCH: &str = r#"{ search(query: "python", first: 20) { totalCount facets { level { value count } } edges { node { kind titleSnippet textSnippet course { __typename id } } } } }"#;

#[tokio::test]
async fn the_gateways_search_is_served() {
    let state = state();
    let answer = graphql(&state, GATEWAY_SEARCH, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    assert_eq!(
        answer.body["data"]["search"]["totalCount"], 4,
        "{}",
        answer.body
    );
    assert_eq!(state.operations.executed(), 1);
    assert_eq!(state.operations.refused(), 0);

    // Every field of the schema at the largest page size, and the SDL the gateway reads.
    let everything = r#"query($q: String!) { search(query: $q, first: 100) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { score titleSnippet textSnippet kind course { id } lesson { id } } }
        facets { category { value count } level { value count } language { value count } price { value count } } } }"#;
    let answer = graphql(&state, everything, json!({ "q": "python" })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body["data"]["search"]["edges"][0]["node"]["course"]["id"].is_string(),
        "{}",
        answer.body
    );
    let answer = graphql(&state, "{ _service { sdl } }", json!({})).await;
    assert!(
        answer.body["data"]["_service"]["sdl"].is_string(),
        "{}",
        answer.body
    );
    assert_eq!(state.operations.executed(), 3);
}

#[tokio::test]
async fn too_many_tokens() {
    let state = state();
    // { search ( query : "x" ) { totalCount  + 2,000 × __typename + } }
    let query = format!(
        r#"{{ search(query: "x") {{ totalCount {} }} }}"#,
        "__typename ".repeat(2000)
    );
    let answer = graphql(&state, &query, json!({})).await;
    assert_refused(&state, &answer, "MAX_TOKENS", "tokens", 9 + 2000 + 2, 2000);
}

#[tokio::test]
async fn too_deep() {
    // Twelve, below the default of 15, so an introspection chain without repeats can pass it.
    let state = state().with_limits(OperationLimits {
        max_depth: 12,
        ..OperationLimits::default()
    });
    // 14 fields on one path, none of them more than twice (`__Type.ofType` would not count).
    let query = "{ __schema { types { fields { type { interfaces { fields { args { type {
        possibleTypes { inputFields { type { interfaces { possibleTypes { name } } } } } } } } } } } } } }";
    let answer = graphql(&state, query, json!({})).await;
    assert_refused(&state, &answer, "MAX_DEPTH", "depth", 14, 12);
}

#[tokio::test]
async fn the_depth_limit_is_configured() {
    let state = state().with_limits(OperationLimits {
        max_depth: 3,
        ..OperationLimits::default()
    });
    // search, edges, node, course, __typename/id: 5 fields deep.
    let answer = graphql(&state, GATEWAY_SEARCH, json!({})).await;
    assert_refused(&state, &answer, "MAX_DEPTH", "depth", 5, 3);
}

/// `__Type.fields` three times on one path (`__Field.type` twice).
const RECURSIVE: &str =
    "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";

#[tokio::test]
async fn a_field_repeated_on_one_path() {
    let state = state();
    let answer = graphql(&state, RECURSIVE, json!({})).await;
    assert_refused(&state, &answer, "MAX_RECURSION", "repeats", 3, 2);
    let error = &answer.body["errors"][0];
    assert_eq!(error["extensions"]["coordinate"], "__Type.fields");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("__Type.fields"), "{message}");
}

#[tokio::test]
async fn too_many_aliases() {
    let state = state();
    let aliases: String = (0..31).map(|i| format!("t{i}: totalCount ")).collect();
    let query = format!(r#"{{ search(query: "python", first: 1) {{ {aliases} }} }}"#);
    let answer = graphql(&state, &query, json!({})).await;
    assert_refused(&state, &answer, "MAX_ALIASES", "aliases", 31, 30);
}

#[tokio::test]
async fn too_many_root_fields() {
    let state = state();
    // 21 searches under 21 aliases (within the alias limit), each cheap.
    let fields: String = (0..21)
        .map(|i| format!(r#"s{i}: search(query: "python", first: 1) {{ totalCount }} "#))
        .collect();
    let answer = graphql(&state, &format!("{{ {fields} }}"), json!({})).await;
    assert_refused(&state, &answer, "MAX_ROOT_FIELDS", "rootFields", 21, 20);
}

/// A search page with every object field: edges (1 + node (1 + course 1 + lesson 1)) = 4,
/// facets (1 + level 1 + category 1) = 3, pageInfo 1.
const HEAVY_PAGE: &str = "{ edges { node { course { id } lesson { id } } } facets { level { value count } category { value count } } pageInfo { endCursor } }";
const HEAVY_PAGE_COST: u64 = 4 + 3 + 1;

#[tokio::test]
async fn too_costly() {
    let state = state();
    // Seven pages of 100: 7 × (1 + 100 × 8) = 5,607.
    let fields: String = (0..7)
        .map(|i| format!(r#"p{i}: search(query: "python", first: 100) {HEAVY_PAGE} "#))
        .collect();
    let answer = graphql(&state, &format!("{{ {fields} }}"), json!({})).await;
    assert_refused(
        &state,
        &answer,
        "COST_LIMIT",
        "cost",
        7 * (1 + 100 * HEAVY_PAGE_COST),
        5000,
    );
}

#[tokio::test]
async fn cost_reads_first_from_variables() {
    let state = state();
    let query = format!("query($n: Int) {{ search(query: \"python\", first: $n) {HEAVY_PAGE} }}");
    let answer = graphql(&state, &query, json!({ "n": 1_000_000 })).await;
    assert_refused(
        &state,
        &answer,
        "COST_LIMIT",
        "cost",
        1 + 1_000_000 * HEAVY_PAGE_COST,
        5000,
    );

    // Without `first`, the default page size counts: just over a limit set below it.
    let cost = 1 + DEFAULT_PAGE_SIZE * HEAVY_PAGE_COST;
    let state = self::state().with_limits(OperationLimits {
        max_cost_anonymous: cost - 1,
        ..OperationLimits::default()
    });
    let answer = graphql(&state, &query, json!({})).await;
    assert_refused(&state, &answer, "COST_LIMIT", "cost", cost, cost - 1);
}

#[tokio::test]
async fn a_batch_counts_as_one_request() {
    let state = state();
    let one =
        json!({ "query": format!("{{ search(query: \"python\", first: 100) {HEAVY_PAGE} }}") });
    let batch = Value::Array(vec![one.clone(); 7]);
    let answer = send(&state, post(&batch)).await;
    assert_refused(
        &state,
        &answer,
        "COST_LIMIT",
        "cost",
        7 * (1 + 100 * HEAVY_PAGE_COST),
        5000,
    );

    let answer = send(&state, post(&Value::Array(vec![one; 2]))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body.as_array().map(Vec::len),
        Some(2),
        "{}",
        answer.body
    );
    assert_eq!(state.operations.executed(), 2);
}

/// `operation` followed by fragments F0 … F`levels`: each spreads the next twice, the last selects
/// `n: totalCount`, so expanding spreads where they stand resolves it 2^`levels` times.
fn fragment_bomb(operation: &str, levels: usize) -> String {
    let mut query = String::from(operation);
    for i in 0..levels {
        query.push_str(&format!(
            " fragment F{i} on SearchConnection {{ ...F{j} ...F{j} }}",
            j = i + 1
        ));
    }
    query.push_str(&format!(
        " fragment F{levels} on SearchConnection {{ n: totalCount }}"
    ));
    query
}

#[tokio::test]
async fn a_fragment_bomb_is_answered_as_its_fields_merge() {
    let state = state();
    // F0 spreads F1 twice, ... F27 spreads F28 twice: expanded where they stand, F28's field
    // would be resolved 2^28 times (async-graphql's own nesting guard stops at 32 levels).
    // Collected as the spec collects fields, it is one field.
    let query = fragment_bomb(r#"{ search(query: "python") { ...F0 } }"#, 28);
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        graphql(&state, &query, json!({})),
    )
    .await
    .expect("answered, not resolved 2^28 times");
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let plain = graphql(
        &state,
        r#"{ search(query: "python") { n: totalCount } }"#,
        json!({}),
    )
    .await;
    assert_eq!(answer.body, plain.body);
    assert!(
        plain.body["data"]["search"]["n"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{}",
        plain.body
    );
}

#[tokio::test]
async fn a_skipped_repeated_fragment_stays_skipped() {
    let state = state();
    // Enough repeated spreads to be collapsed; the one under @skip(if: true) adds nothing.
    let query = fragment_bomb(
        r#"query($skip: Boolean!) { search(query: "python") { ...T @skip(if: $skip) ...F0 } }
        fragment T on SearchConnection { totalCount }"#,
        12,
    );
    let answer = graphql(&state, &query, json!({ "skip": true })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    let search = &answer.body["data"]["search"];
    assert!(search.get("totalCount").is_none(), "{}", answer.body);
    assert!(
        search["n"].as_u64().is_some_and(|n| n > 0),
        "{}",
        answer.body
    );

    let answer = graphql(&state, &query, json!({ "skip": false })).await;
    assert!(
        answer.body["data"]["search"]["totalCount"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn cyclic_fragments_end_and_execute_nothing() {
    let state = state();
    let query = r#"{ search(query: "python") { ...A } }
        fragment A on SearchConnection { edges { node { course { id } } } ...B }
        fragment B on SearchConnection { totalCount ...A }"#;
    let answer = graphql(&state, query, json!({})).await;
    // Invalid GraphQL: the analysis leaves the cycle out and ends; async-graphql refuses the
    // document (its recursion guard, then validation) before any resolver runs.
    assert!(
        answer.body.get("data").is_none_or(Value::is_null),
        "{}",
        answer.body
    );
    assert!(
        answer.body["errors"][0]["message"].is_string(),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn deeply_nested_values_within_the_token_limit_are_answered() {
    let state = state();
    // 990 nested lists: under 2,000 tokens, so handed to the parser, whose own stack guard
    // refuses them: an error, not a crashed worker.
    let query = format!(
        r#"{{ search(query: "x", filter: {}1{}) {{ totalCount }} }}"#,
        "[".repeat(990),
        "]".repeat(990)
    );
    let answer = graphql(&state, &query, json!({})).await;
    assert!(
        answer.body["errors"][0]["message"].is_string(),
        "{}",
        answer.body
    );
    assert!(
        answer.body.get("data").is_none_or(Value::is_null),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn get_requests_are_checked_too() {
    let state = state();
    let query = RECURSIVE;
    let uri = format!(
        "/graphql?query={}",
        query
            .replace(' ', "%20")
            .replace('{', "%7B")
            .replace('}', "%7D")
    );
    let request = Request::get(uri)
        .header("accept", "application/graphql-response+json")
        .body(Body::empty())
        .expect("a request");
    let answer = send(&state, request).await;
    assert_refused(&state, &answer, "MAX_RECURSION", "repeats", 3, 2);
}

#[tokio::test]
async fn a_client_accepting_only_json_gets_json() {
    let state = state();
    let query = format!("{{ {} }}", "__typename ".repeat(21));
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "query": query }).to_string()))
        .expect("a request");
    let answer = send(&state, request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(
        answer.body["errors"][0]["extensions"]["reason"],
        "MAX_ROOT_FIELDS"
    );
    assert_eq!(answer.body["errors"][0]["extensions"]["rootFields"], 21);
}

#[tokio::test]
async fn limits_off_executes_what_they_would_refuse() {
    let state = state().with_limits(OperationLimits {
        enabled: false,
        ..OperationLimits::default()
    });
    let answer = graphql(&state, RECURSIVE, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body["data"]["__schema"]["types"].is_array(),
        "{}",
        answer.body
    );
    assert_eq!(state.operations.executed(), 1);
}

/// CSRF prevention: a POST a browser could send cross-site without a preflight (a form,
/// multipart, text/plain) or with no content type is refused with 415 before anything runs.
#[tokio::test]
async fn only_json_or_graphql_posts_are_read() {
    let state = state();
    let query = json!({ "query": "{ search(query: \"python\") { totalCount } }" }).to_string();
    for content_type in [
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("text/plain"),
        None,
    ] {
        let mut request = Request::post("/graphql");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = send(
            &state,
            request.body(Body::from(query.clone())).expect("a request"),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(
            answer.body["errors"][0]["extensions"]["code"],
            "BAD_USER_INPUT"
        );
        assert_eq!(
            answer.body["errors"][0]["extensions"]["reason"],
            "UNSUPPORTED_MEDIA_TYPE"
        );
    }
    assert_eq!(state.operations.executed(), 0);
    // The same document as JSON (with a charset) is served.
    let answer = send(
        &state,
        Request::post("/graphql")
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(query))
            .expect("a request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["data"]["search"]["totalCount"], 4);
    assert_eq!(state.operations.executed(), 1);
}
