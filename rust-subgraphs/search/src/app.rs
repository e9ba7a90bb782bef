//! The HTTP app: `/graphql` (POST and GET), `/healthz`, `/readyz`. Built here, served by the
//! binary, so tests call it in-process with `app(state).oneshot(request)`.

use std::sync::Arc;

use async_graphql_axum::GraphQL;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::graphql::schema;
use crate::SearchIndex;

/// What every request can reach: the open search index.
#[derive(Clone)]
pub struct AppState {
    /// The index searches read (its writer belongs to the consumer).
    pub index: Arc<SearchIndex>,
}

impl AppState {
    /// State serving `index`.
    pub fn new(index: SearchIndex) -> Self {
        Self {
            index: Arc::new(index),
        }
    }
}

/// Largest `/graphql` request body accepted: 64 KiB. A search query is at most 200
/// characters, so even a generous operation document with variables fits many times over;
/// async-graphql itself reads a body to its end, whatever its size.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The subgraph's routes.
pub fn app(state: AppState) -> Router {
    let graphql = GraphQL::new(schema(SearchIndex::clone(&state.index)));
    Router::new()
        .route_service("/graphql", graphql)
        .route_layer(middleware::from_fn(limit_body))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
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
            tracing::error!(error = %error, "index not readable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}
