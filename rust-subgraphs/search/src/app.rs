//! The HTTP app: `/graphql` (POST and GET), `/healthz`, `/readyz`. Built here, served by the
//! binary, so tests call it in-process with `app(state).oneshot(request)`.

use std::sync::Arc;

use async_graphql_axum::GraphQL;
use axum::extract::State;
use axum::http::StatusCode;
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

/// The subgraph's routes.
pub fn app(state: AppState) -> Router {
    let graphql = GraphQL::new(schema(SearchIndex::clone(&state.index)));
    Router::new()
        .route_service("/graphql", graphql)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
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
