//! The HTTP app: `/graphql` (POST and GET), `/healthz`, `/readyz`. Built here, served by the
//! binary, so tests call it in-process with `app(state).oneshot(request)`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_graphql::http::{create_multipart_mixed_stream, is_accept_multipart_mixed};
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::json;

use crate::graphql::{schema, SearchSchema};
use crate::limits::{OperationLimits, Refusal, Role, SchemaInfo};
use crate::SearchIndex;

/// What every request can reach: the open search index, the operation limits, and counts of
/// the operations served.
#[derive(Clone)]
pub struct AppState {
    /// The index searches read (its writer belongs to the consumer).
    pub index: Arc<SearchIndex>,
    /// What `/graphql` refuses before executing. Default [`OperationLimits::default`].
    pub limits: OperationLimits,
    /// Operations executed and refused by `/graphql` since this state was created.
    pub operations: Arc<OperationCounts>,
}

impl AppState {
    /// State serving `index`, with the default operation limits.
    pub fn new(index: SearchIndex) -> Self {
        Self {
            index: Arc::new(index),
            limits: OperationLimits::default(),
            operations: Arc::default(),
        }
    }

    /// The same state with `limits` (from [`Config`](crate::config::Config)).
    #[must_use]
    pub fn with_limits(mut self, limits: OperationLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// How many GraphQL operations `/graphql` handed to the executor, and how many it refused
/// for passing an operation limit (a refused one never reaches the executor).
#[derive(Debug, Default)]
pub struct OperationCounts {
    executed: AtomicU64,
    refused: AtomicU64,
}

impl OperationCounts {
    /// Operations handed to async-graphql (each request of a batch counts).
    pub fn executed(&self) -> u64 {
        self.executed.load(Ordering::Relaxed)
    }

    /// Requests refused by an operation limit (a batch counts once).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// What the `/graphql` handler needs: the schema it executes, what the limits know of it.
#[derive(Clone)]
struct GraphqlEndpoint {
    schema: SearchSchema,
    types: Arc<SchemaInfo>,
    limits: OperationLimits,
    operations: Arc<OperationCounts>,
}

/// Largest `/graphql` request body accepted: 64 KiB. A search query is at most 200
/// characters, so even a generous operation document with variables fits many times over;
/// async-graphql itself reads a body to its end, whatever its size.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The subgraph's routes.
///
/// # Panics
/// When the served schema's own SDL does not parse (a bug, found by every test).
pub fn app(state: AppState) -> Router {
    let schema = schema(SearchIndex::clone(&state.index));
    let types = SchemaInfo::from_sdl(&schema.sdl()).expect("the served schema's SDL parses");
    let graphql = GraphqlEndpoint {
        schema,
        types: Arc::new(types),
        limits: state.limits,
        operations: Arc::clone(&state.operations),
    };
    Router::new()
        .route(
            "/graphql",
            get(serve_graphql).post(serve_graphql).with_state(graphql),
        )
        .route_layer(middleware::from_fn(limit_body))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// `/graphql` over GET and POST: reads the request(s) as async-graphql does, refuses them with
/// 400 when they pass an operation limit (nothing is executed then), or executes them.
/// Every caller counts as anonymous: this subgraph verifies no token.
async fn serve_graphql(State(endpoint): State<GraphqlEndpoint>, request: Request) -> Response {
    if request.method() == Method::POST {
        if let Some(refusal) = unsupported_media_type(request.headers()) {
            return refusal;
        }
    }
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut batch = match GraphQLBatchRequest::<GraphQLRejection>::from_request(request, &()).await
    {
        Ok(batch) => batch.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
    if let Err(refusal) = endpoint
        .limits
        .check(&mut batch, &endpoint.types, Role::Anonymous)
    {
        endpoint.operations.refused.fetch_add(1, Ordering::Relaxed);
        tracing::info!(reason = refusal.reason(), message = %refusal.message(), "operation refused");
        return refused(&refusal, &accept);
    }
    let count = batch.iter().count() as u64;
    endpoint
        .operations
        .executed
        .fetch_add(count, Ordering::Relaxed);
    if is_accept_multipart_mixed(&accept) {
        // Incremental delivery, as async-graphql-axum's own service answers it.
        let request = match batch.into_single() {
            Ok(request) => request,
            Err(error) => return GraphQLRejection(error).into_response(),
        };
        let stream = endpoint.schema.execute_stream(request);
        let body = Body::from_stream(
            create_multipart_mixed_stream(stream, std::time::Duration::from_secs(30))
                .map(Ok::<_, std::io::Error>),
        );
        return (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("multipart/mixed; boundary=graphql"),
            )],
            body,
        )
            .into_response();
    }
    GraphQLResponse(endpoint.schema.execute_batch(batch).await).into_response()
}

/// Media types a POST may declare: JSON or GraphQL, as in every TypeScript service.
pub const POST_CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "application/graphql-response+json",
    "application/graphql",
    "application/graphql+json",
];

/// CSRF prevention: the types an HTML form or a `no-cors` fetch can send without a preflight
/// (form-encoded, multipart, text/plain), or none at all, get 415 with `BAD_USER_INPUT` and
/// reason `UNSUPPORTED_MEDIA_TYPE` before anything is parsed.
fn unsupported_media_type(headers: &HeaderMap) -> Option<Response> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let media_type = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if POST_CONTENT_TYPES.contains(&media_type.as_str()) {
        return None;
    }
    let shown = if media_type.is_empty() {
        "none".to_owned()
    } else {
        format!("\"{media_type}\"")
    };
    let body = json!({ "errors": [{
        "message": format!("POST requests must send Content-Type: application/json (or a GraphQL media type); {shown} is not accepted."),
        "extensions": { "code": "BAD_USER_INPUT", "reason": "UNSUPPORTED_MEDIA_TYPE" }
    }] });
    Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(body)).into_response())
}

/// 400 with the refusal's GraphQL error, as `application/graphql-response+json` when the
/// client accepts it, `application/json` otherwise.
fn refused(refusal: &Refusal, accept: &str) -> Response {
    let content_type = if accept.contains("application/graphql-response+json") {
        "application/graphql-response+json"
    } else {
        "application/json"
    };
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        refusal.body().to_string(),
    )
        .into_response()
}

/// Refuses a `/graphql` body over [`MAX_BODY_BYTES`] with 413 and a GraphQL error (code
/// `BAD_USER_INPUT`, reason `PAYLOAD_TOO_LARGE`): at once when `content-length` says so, or as
/// soon as a chunked body passes the limit. Otherwise hands the buffered body on.
async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return payload_too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) if is_length_limit(&error) => payload_too_large(),
        // The client went away mid-body: nobody reads this answer, but say what happened.
        Err(error) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": [{
                "message": format!("The request body could not be read: {error}"),
                "extensions": { "code": "BAD_USER_INPUT", "reason": "BAD_REQUEST" }
            }] })),
        )
            .into_response(),
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

fn payload_too_large() -> Response {
    let body = json!({
        "errors": [{
            "message": format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            "extensions": { "code": "BAD_USER_INPUT", "reason": "PAYLOAD_TOO_LARGE" }
        }]
    });
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the index is open and its commit metadata readable (200, with the stream
/// sequence it holds); 503 otherwise.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.index.last_sequence() {
        Ok(sequence) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "lastSequence": sequence })),
        ),
        Err(error) => {
            tracing::error!(error = %error.chain(), "index not readable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}
