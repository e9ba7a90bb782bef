//! The `/graphql` endpoint over HTTP, in-process, around a small schema: the caller's role picks
//! the cost limit, what the caller adds reaches the resolvers, a caller may answer instead, and
//! every refusal (body size, media type, limits) executes nothing.

use async_graphql::{BatchRequest, Context, EmptyMutation, EmptySubscription, Object, Schema};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use coursegraph_subgraph_kit::{
    Caller, GraphqlEndpoint, OperationCounts, OperationLimits, Role, MAX_BODY_BYTES,
};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Query;

/// Who the caller said they are, as the resolvers see it.
#[derive(Clone)]
struct Viewer(String);

#[Object]
impl Query {
    /// A list costing `first` items.
    async fn items(&self, #[graphql(default = 20)] first: i32) -> Vec<Item> {
        (0..first).map(|n| Item { n }).collect()
    }
    /// The viewer's name, or null.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<String> {
        ctx.data_opt::<Viewer>().map(|v| v.0.clone())
    }
}

struct Item {
    n: i32,
}

#[Object]
impl Item {
    async fn n(&self) -> i32 {
        self.n
    }
    async fn child(&self) -> Item {
        Item { n: self.n + 1 }
    }
}

/// `x-role: admin` is an admin named by `x-name`; `x-role: bad` is refused with 401.
#[derive(Clone)]
struct HeaderCaller;

impl Caller for HeaderCaller {
    async fn identify(
        &self,
        headers: &HeaderMap,
        batch: &mut BatchRequest,
    ) -> Result<Role, Response> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        match header("x-role") {
            "admin" => {
                for request in batch.iter_mut() {
                    request.data.insert(Viewer(header("x-name").to_owned()));
                }
                Ok(Role::Admin)
            }
            "bad" => Err((StatusCode::UNAUTHORIZED, "bad token").into_response()),
            _ => Ok(Role::Anonymous),
        }
    }
}

fn router(limits: OperationLimits) -> (axum::Router, Arc<OperationCounts>) {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
    let endpoint = GraphqlEndpoint::new(schema.clone(), &schema.sdl(), limits)
        .expect("the SDL parses")
        .with_caller(HeaderCaller);
    let counts = Arc::clone(endpoint.operations());
    (endpoint.router(), counts)
}

async fn send(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.expect("a response");
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

fn post(query: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body(Body::from(json!({ "query": query }).to_string()))
        .expect("a request")
}

/// Costs 1 + 50 * 1 = 51 (`items` and each `child` weigh 1, scalars 0): over an anonymous
/// limit of 50, under an admin's 1000.
const COSTLY: &str = "{ items(first: 50) { n child { n } } }";

fn limits() -> OperationLimits {
    OperationLimits {
        max_cost_anonymous: 50,
        max_cost_admin: 1000,
        ..OperationLimits::default()
    }
}

#[tokio::test]
async fn the_callers_role_picks_the_cost_limit() {
    let (router, counts) = router(limits());
    let (status, body) = send(&router, post(COSTLY, &[])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "COST_LIMIT");
    assert_eq!(body["errors"][0]["extensions"]["cost"], 51);
    assert_eq!(body["errors"][0]["extensions"]["limit"], 50);
    assert_eq!((counts.executed(), counts.refused()), (0, 1));

    let (status, body) = send(&router, post(COSTLY, &[("x-role", "admin")])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["items"].as_array().map(Vec::len), Some(50));
    assert_eq!((counts.executed(), counts.refused()), (1, 1));
}

#[tokio::test]
async fn what_the_caller_adds_reaches_the_resolvers() {
    let (router, _) = router(limits());
    let headers = [("x-role", "admin"), ("x-name", "ada")];
    let (status, body) = send(&router, post("{ viewer }", &headers)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "data": { "viewer": "ada" } }));
    let (_, body) = send(&router, post("{ viewer }", &[])).await;
    assert_eq!(body, json!({ "data": { "viewer": null } }));
}

#[tokio::test]
async fn a_caller_may_answer_instead_and_nothing_runs() {
    let (router, counts) = router(limits());
    let (status, body) = send(&router, post("{ viewer }", &[("x-role", "bad")])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, Value::String("bad token".into()));
    assert_eq!((counts.executed(), counts.refused()), (0, 0));
}

#[tokio::test]
async fn forms_and_oversized_bodies_are_refused_before_parsing() {
    let (router, counts) = router(limits());
    let form = Request::post("/graphql")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("query={viewer}"))
        .expect("a request");
    let (status, body) = send(&router, form).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "UNSUPPORTED_MEDIA_TYPE"
    );

    let padding = "x".repeat(MAX_BODY_BYTES);
    let (status, body) = send(&router, post(&format!("{{ viewer }} # {padding}"), &[])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "PAYLOAD_TOO_LARGE"
    );
    assert_eq!((counts.executed(), counts.refused()), (0, 0));
}

#[tokio::test]
async fn get_requests_are_checked_and_served() {
    let (router, counts) = router(OperationLimits {
        max_depth: 3,
        ..limits()
    });
    let deep = Request::get("/graphql?query=%7B%20items(first%3A1)%20%7B%20child%20%7B%20child%20%7B%20n%20%7D%20%7D%20%7D%20%7D")
        .body(Body::empty())
        .expect("a request");
    let (status, body) = send(&router, deep).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "MAX_DEPTH");
    assert_eq!(body["errors"][0]["extensions"]["depth"], 4);
    let shallow = Request::get("/graphql?query=%7B%20items(first%3A2)%20%7B%20n%20%7D%20%7D")
        .body(Body::empty())
        .expect("a request");
    let (status, body) = send(&router, shallow).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "data": { "items": [{ "n": 0 }, { "n": 1 }] } })
    );
    assert_eq!((counts.executed(), counts.refused()), (1, 1));
}
